import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '../../..');

describe("the SDK's types", () => {
  it('are generated from docs/openapi.json: regenerate them with `npm run sdk:generate` after an API change', () => {
    const run = spawnSync(process.execPath, [join(ROOT, 'node_modules/openapi-typescript/bin/cli.js'), join(ROOT, 'docs/openapi.json')], { encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(run.stdout === readFileSync(join(__dirname, 'openapi.ts'), 'utf8')).toBe(true);
  });
});
