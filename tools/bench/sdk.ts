// What the SDKs cost per call (issue 17), on the whole platform, in one run:
//   get   GET /v1/executions/{id}: the TypeScript SDK's `sbx.executions.get` against a bare fetch of
//         the same request, and the Python SDK's against a bare httpx request in the same process
//   run   a warm execution (`print(1)`, ?wait=true): `s.run` against a bare fetch POST, and in Python
// Calls alternate between the SDK and its baseline so that drift of the machine hits both alike.
// Usage: npm run bench:sdk   (writes tools/bench/results/sdk.json)
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Sandbox } from '@sandbox/sdk';
import { pythonTools, REPO_ROOT, runToEnd, TestPlatform } from '@sandbox/testing';

const GETS = 400;
const RUNS = 100;

const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
const round = (n: number) => Math.round(n * 1000) / 1000;
const since = (t0: number) => performance.now() - t0;

// the Python side: the same alternation with httpx as the baseline; prints its medians as JSON
const PYTHON = `
import json, os, sys, time, httpx
from sandbox_sdk import Sandbox
url, key, sid, eid, gets, runs = os.environ["SANDBOX_URL"], os.environ["SANDBOX_API_KEY"], sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
bare = httpx.Client(base_url=url, headers={"authorization": f"Bearer {key}"})
sbx = Sandbox()
s = sbx.sessions.get(sid)
def timed(f):
    t0 = time.perf_counter(); f(); return (time.perf_counter() - t0) * 1000
def med(xs): return sorted(xs)[len(xs) // 2]
out = {"get_sdk": [], "get_bare": [], "run_sdk": [], "run_bare": []}
for _ in range(gets):
    out["get_sdk"].append(timed(lambda: sbx.executions.get(eid)))
    out["get_bare"].append(timed(lambda: bare.get(f"/v1/executions/{eid}").raise_for_status().json()))
for _ in range(runs):
    out["run_sdk"].append(timed(lambda: s.run("print(1)")))
    out["run_bare"].append(timed(lambda: bare.post(f"/v1/sessions/{sid}/executions?wait=true", json={"code": "print(1)"}).raise_for_status().json()))
print(json.dumps({k: med(v) for k, v in out.items()}))
`;

async function main(): Promise<void> {
  const bin = pythonTools();
  const p = await TestPlatform.start('bench-sdk', { warmPool: 'python-basic=1' });
  try {
    const key = (await p.createKey('tenant', 'bench-sdk')).secret;
    const auth = { authorization: `Bearer ${key}` };
    const sbx = new Sandbox({ apiKey: key, baseUrl: p.url });
    const s = await sbx.sessions.create({ template: 'python-basic' });
    const first = await s.run('print(1)');
    const ts = { get_sdk: [] as number[], get_bare: [] as number[], run_sdk: [] as number[], run_bare: [] as number[] };
    for (let i = 0; i < GETS; i++) {
      let t0 = performance.now();
      await sbx.executions.get(first.id);
      ts.get_sdk.push(since(t0));
      t0 = performance.now();
      await (await fetch(`${p.url}/v1/executions/${first.id}`, { headers: auth })).json();
      ts.get_bare.push(since(t0));
    }
    for (let i = 0; i < RUNS; i++) {
      let t0 = performance.now();
      await s.run('print(1)');
      ts.run_sdk.push(since(t0));
      t0 = performance.now();
      const res = await fetch(`${p.url}/v1/sessions/${s.id}/executions?wait=true`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{"code":"print(1)"}' });
      if (res.status !== 200) throw new Error(`bare run: ${res.status}`);
      await res.json();
      ts.run_bare.push(since(t0));
    }
    const py = await runToEnd(join(bin, 'python'), ['-c', PYTHON, s.id, first.id, String(GETS), String(RUNS)], { ...process.env, SANDBOX_URL: p.url, SANDBOX_API_KEY: key });
    if (py.code !== 0) throw new Error(`python side failed:\n${py.output}`);
    const pm = JSON.parse(py.output.trim().split('\n').pop()!) as Record<string, number>;
    await s.terminate();
    const row = (sdk: number, bare: number) => ({ sdk_p50_ms: round(sdk), bare_p50_ms: round(bare), overhead_ms: round(sdk - bare), ratio: round(sdk / bare) });
    const result = {
      date: new Date().toISOString(),
      calls: { get: GETS, run: RUNS },
      typescript: { get: row(q(ts.get_sdk, 0.5), q(ts.get_bare, 0.5)), run: row(q(ts.run_sdk, 0.5), q(ts.run_bare, 0.5)) },
      python: { get: row(pm['get_sdk']!, pm['get_bare']!), run: row(pm['run_sdk']!, pm['run_bare']!) },
    };
    console.table({
      'TS get': result.typescript.get,
      'TS run': result.typescript.run,
      'Python get': result.python.get,
      'Python run': result.python.run,
    });
    writeFileSync(join(REPO_ROOT, 'tools/bench/results/sdk.json'), `${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await p.stop();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
