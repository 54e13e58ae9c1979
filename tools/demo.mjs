// The platform's main job, once, through the REST API: create a session from a template, run code in
// it and wait for the result, then end the session. Usage: SANDBOX_API_KEY=sbx_… node tools/demo.mjs http://127.0.0.1:8000
const api = process.argv[2] ?? 'http://127.0.0.1:8000';
const key = process.env.SANDBOX_API_KEY;
if (!key) throw new Error('SANDBOX_API_KEY is not set: npm start prints the development key (also in .stack/dev-api-key)');

async function call(method, path, body) {
  const res = await fetch(`${api}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status}: ${JSON.stringify(json.error ?? json)}`);
  return json;
}

const code = [
  'import platform, sys',
  'print(f"hello from {platform.python_implementation()} {platform.python_version()} in a sandbox")',
  'print("sum of squares 1..10 =", sum(i * i for i in range(1, 11)))',
].join('\n');

const session = await call('POST', '/v1/sessions', { template_id: 'python-basic' });
const t0 = performance.now();
const run = await call('POST', `/v1/sessions/${session.id}/executions?wait=true`, { code });
const ms = performance.now() - t0;
const again = performance.now();
const warm = await call('POST', `/v1/sessions/${session.id}/executions?wait=true`, { code: 'print(1)' });
const warmMs = performance.now() - again;
const ended = await call('DELETE', `/v1/sessions/${session.id}`);

const out = process.stdout;
out.write(`\nsession ${session.id} (template python-basic)\n`);
out.write(`execution ${run.id}: ${run.status}, exit code ${run.exit_code}, on node ${run.runtime_node}\n`);
out.write('─── stdout ───\n');
out.write(run.stdout ?? '');
if (run.stderr) out.write(`─── stderr ───\n${run.stderr}`);
out.write('──────────────\n');
out.write(`first execution answered in ${ms.toFixed(0)} ms (session placement included), a second one in ${warmMs.toFixed(0)} ms (${warm.status})\n`);
out.write(`session ${ended.status}\n\n`);
out.write(`Try it yourself (the key is in .stack/dev-api-key):
  KEY=$(cat .stack/dev-api-key)
  curl -s -XPOST ${api}/v1/sessions -H "authorization: Bearer $KEY" -H 'content-type: application/json' -d '{"template_id":"python-basic"}'
  curl -s -XPOST '${api}/v1/sessions/<session id>/executions?wait=true' -H "authorization: Bearer $KEY" -H 'content-type: application/json' -d '{"code":"print(6*7)"}'
  curl -s -XDELETE ${api}/v1/sessions/<session id> -H "authorization: Bearer $KEY"
OpenAPI: ${api}/docs
`);
if (run.status !== 'completed' || run.exit_code !== 0) process.exit(1);
