import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The checkout this runs from (sources under jest, or dist/ for the benches): where init.sql is. */
export const REPO_ROOT = repoRoot(__dirname);

function repoRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'init.sql')) && existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no checkout (init.sql) above ${from}`);
  }
}

export interface StackEnv {
  readonly DATABASE_URL: string;
  readonly REDIS_URL: string;
  readonly S3_ENDPOINT: string;
  readonly S3_BUCKET: string;
  readonly S3_ACCESS_KEY_ID: string;
  readonly S3_SECRET_ACCESS_KEY: string;
}

/** Connection settings written by tools/stack-up.sh; a missing stack fails the run, never skips it. */
export function stackEnv(): StackEnv {
  const file = join(REPO_ROOT, '.stack', 'env');
  if (!existsSync(file)) {
    throw new Error(`${file} is missing: the local stack is not up. Run 'bash tools/stack-up.sh' (npm test does it).`);
  }
  const env: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) env[m[1]!] = m[2]!;
  }
  for (const key of ['DATABASE_URL', 'REDIS_URL', 'S3_ENDPOINT', 'S3_BUCKET', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY'] as const) {
    if (!env[key]) throw new Error(`${file} has no ${key}: rerun 'bash tools/stack-up.sh'`);
  }
  return env as unknown as StackEnv;
}
