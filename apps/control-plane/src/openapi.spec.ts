import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderOpenApi } from './openapi';

const ROOT = join(__dirname, '../../..');
const CHECKED_IN = join(ROOT, 'docs/openapi.json');
// an ES module that reads its schemas through import.meta: run as its own CLI, not under jest
const VALIDATOR = join(ROOT, 'node_modules/@seriousme/openapi-schema-validator/bin/validate-api-cli.js');
const METHODS = ['get', 'put', 'post', 'delete', 'patch'];

/**
 * docs/openapi.json is what the code declares (an API change shows in review as a diff of it), and
 * it is a valid OpenAPI 3.1 document that generators and fuzzers take.
 */
describe('the OpenAPI document', () => {
  let json: string;
  let doc: any;

  beforeAll(async () => {
    json = await renderOpenApi();
    doc = JSON.parse(json);
  });

  it('is docs/openapi.json: regenerate it with `npm run openapi` after an API change', () => {
    expect(readFileSync(CHECKED_IN, 'utf8') === json).toBe(true);
  });

  it('validates against the OpenAPI 3.1 schema', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'openapi-')), 'openapi.json');
    writeFileSync(file, json);
    const run = spawnSync(process.execPath, [VALIDATOR, file], { encoding: 'utf8' });
    expect({ status: run.status, result: JSON.parse(run.stdout || '{}') }).toEqual({ status: 0, result: { valid: true } });
    expect(doc.openapi).toBe('3.1.0');
  });

  it('gives every operation a summary, tags, an operation id and the error schema for its error statuses', () => {
    const operations = Object.entries(doc.paths).flatMap(([path, item]: [string, any]) =>
      METHODS.filter((m) => item[m]).map((m) => ({ name: `${m.toUpperCase()} ${path}`, op: item[m] })),
    );
    expect(operations.length).toBeGreaterThan(40);
    const ids = new Set<string>();
    for (const { name, op } of operations) {
      expect({ name, summary: typeof op.summary === 'string' && op.summary.length > 3, tags: op.tags?.length > 0 }).toEqual({ name, summary: true, tags: true });
      ids.add(op.operationId);
      for (const [status, response] of Object.entries<any>(op.responses)) {
        if (Number(status) < 400 || name === 'GET /ready') continue;
        const errors = name.includes(' /judge0/') ? 'Judge0Error' : 'Error';
        expect({ name, status, ref: response.$ref }).toEqual({ name, status, ref: `#/components/responses/${errors}${status}` });
      }
    }
    expect(ids.size).toBe(operations.length);
    expect(doc.components.responses.Error429.headers).toHaveProperty('Retry-After');
    expect(doc.components.responses.Error404.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Error' });
  });

  it('says what clients act on: 200 and 202 for ?wait, idempotency, rate limits, an upload body, the file path as one string', () => {
    const create = doc.paths['/v1/sessions/{id}/executions'].post;
    expect(create.responses['200'].content['application/json'].schema).toEqual(create.responses['202'].content['application/json'].schema);
    expect(Object.keys(create.responses['200'].headers)).toEqual(expect.arrayContaining(['Idempotent-Replayed', 'RateLimit-Remaining', 'traceparent']));
    expect(create.parameters.map((p: any) => p.name)).toEqual(expect.arrayContaining(['Idempotency-Key', 'wait', 'stream']));
    const upload = doc.paths['/v1/sessions/{id}/files/{path}'].put;
    expect(upload.requestBody.content['application/octet-stream'].schema).toEqual({ type: 'string', format: 'binary' });
    expect(upload.parameters.find((p: any) => p.name === 'path').schema).toEqual({ type: 'string', minLength: 1 });
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer', bearerFormat: expect.stringMatching(/^sbx_/) });
    expect(json).not.toContain('"nullable"');
    // zod's nullable fields as 3.1 unions, not the arrays @nestjs/swagger made of them
    expect(doc.components.schemas.SessionResponseDto.properties.runtime_node).toEqual({ anyOf: [{ type: 'string' }, { type: 'null' }] });
    expect(doc.paths['/v1/sessions'].post.responses['201'].links.RunCode).toEqual({ operationId: 'Executions_create', parameters: { id: '$response.body#/id' } });
  });
});
