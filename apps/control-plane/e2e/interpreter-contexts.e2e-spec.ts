import { inflateSync } from 'node:zlib';
import { TestPlatform } from '@sandbox/testing';

/**
 * Interpreter contexts and rich results with real agents, sandboxes and the reaper: cells share
 * variables and return their last value, contexts are independent, a timeout or cancel interrupts the
 * cell and keeps the context, one that does not recover is reset and says so, a restart starts afresh,
 * and a context whose agent is lost is `lost`, never re-created without its variables. Charts and
 * tables come back as PNG and HTML; large results by URL.
 */
const STALE = '4';
const TERMINAL = ['completed', 'failed', 'timeout', 'crashed'];

describe('interpreter contexts', () => {
  let p: TestPlatform;
  const context = async (sessionId: string, body: Record<string, unknown> = {}) => {
    const r = await p.api('POST', `/v1/sessions/${sessionId}/contexts`, body);
    if (r.status !== 201) throw new Error(`context not created: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const cell = (sessionId: string, contextId: string, code: string, extra: Record<string, unknown> = {}) => p.execute(sessionId, { code, context_id: contextId, ...extra });
  const value = (e: { results: { kind: string; data: Record<string, string> }[] }) => e.results.find((r) => r.kind === 'value')?.data['text/plain'];

  beforeAll(async () => {
    p = await TestPlatform.start('e2e-contexts', {
      warmPool: 'python-basic=2,nodejs-basic=1',
      agentEnv: { STALE_AFTER_SECONDS: STALE, FENCE_MARGIN_MS: '1000' },
    });
    p.startReaper({ STALE_AFTER_SECONDS: STALE, REAPER_INTERVAL_MS: '500' });
  });

  afterAll(async () => {
    await p?.stop();
  });

  it('keeps variables between cells and returns the last expression like a notebook; contexts are independent', async () => {
    const s = await p.session();
    const a = await context(s.id);
    expect(a).toMatchObject({ session_id: s.id, language: 'python', status: 'active', generation: 1 });
    const first = await cell(s.id, a.id, 'x = 41');
    expect(first).toMatchObject({ status: 'completed', context_id: a.id, results: [], context: { started: 'first cell', reset: null } });
    const second = await cell(s.id, a.id, 'print("side")\nx + 1');
    expect(second).toMatchObject({ status: 'completed', stdout: 'side\n', context: { started: null, reset: null } });
    expect(value(second)).toBe('42');
    const b = await context(s.id);
    const other = await cell(s.id, b.id, 'x');
    expect(other).toMatchObject({ status: 'completed', reason: 'exited', exit_code: 1, results: [] });
    expect(other.stderr).toContain("NameError: name 'x' is not defined");
    // a plain execution of the same session sees none of it
    expect((await p.execute(s.id, { code: 'print("x" in globals())' })).stdout).toBe('False\n');
    expect((await p.api('GET', `/v1/sessions/${s.id}/contexts`)).body.items.map((c: { id: string }) => c.id)).toEqual([a.id, b.id].sort());
  });

  it('runs JavaScript contexts the same way', async () => {
    const s = await p.session('nodejs-basic');
    const c = await context(s.id);
    expect(c.language).toBe('javascript');
    await cell(s.id, c.id, 'let y = 2; const twice = (n) => n * 2');
    const e = await cell(s.id, c.id, 'console.log("hi"); display({ a: [1, 2] }); twice(y) * 10 + 2');
    expect(e).toMatchObject({ status: 'completed', stdout: 'hi\n' });
    expect(e.results).toEqual([
      { kind: 'display', data: { 'text/plain': '{ a: [ 1, 2 ] }', 'application/json': '{"a":[1,2]}' }, stored: {} },
      { kind: 'value', data: { 'text/plain': '42' }, stored: {} },
    ]);
    const awaited = await cell(s.id, c.id, 'new Promise((r) => setTimeout(() => r(y + 1), 50))');
    expect(value(awaited)).toBe('3');
  });

  it('interrupts a cell at its time limit or on cancel (KeyboardInterrupt) and keeps the context', async () => {
    const s = await p.session();
    const c = await context(s.id);
    await cell(s.id, c.id, 'x = 7');
    const slow = await cell(s.id, c.id, 'import time\nwhile True:\n    time.sleep(0.05)', { timeout: 1 });
    expect(slow).toMatchObject({ status: 'timeout', reason: 'wall_timeout', context: { reset: null } });
    expect(slow.stderr).toContain('KeyboardInterrupt');
    expect(value(await cell(s.id, c.id, 'x'))).toBe('7');
    const id = (await p.api('POST', `/v1/sessions/${s.id}/executions`, { code: 'import time\nprint("go", flush=True)\nwhile True:\n    time.sleep(0.05)', context_id: c.id, timeout: 60 })).body.id;
    await p.until('the cell runs', async () => (await p.api('GET', `/v1/executions/${id}`)).body.status === 'running');
    await new Promise((r) => setTimeout(r, 1000));
    await p.api('POST', `/v1/executions/${id}/cancel`);
    const cancelled = await p.until('cancelled', async () => ((e) => TERMINAL.includes(e.status) && e)((await p.api('GET', `/v1/executions/${id}`)).body));
    expect(cancelled).toMatchObject({ status: 'failed', reason: 'cancelled', stdout: 'go\n' });
    expect(cancelled.stderr).toContain('KeyboardInterrupt');
    expect(value(await cell(s.id, c.id, 'x * 6'))).toBe('42');
    // the output cap (1 MiB) stops a cell the same way
    const loud = await cell(s.id, c.id, 'while True:\n    print("y" * 1000)');
    expect(loud).toMatchObject({ status: 'failed', reason: 'output_limit', stdout_truncated: true, context: { reset: null } });
    expect(loud.stdout.length).toBeLessThanOrEqual(1 << 20);
    expect(value(await cell(s.id, c.id, 'x'))).toBe('7');
  });

  it('resets a context whose cell does not recover, or that ends its interpreter, and says so; memory limits apply', async () => {
    const s = await p.session();
    const c = await context(s.id);
    await cell(s.id, c.id, 'x = 1');
    const stuck = await cell(s.id, c.id, 'import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    time.sleep(0.05)', { timeout: 1 });
    expect(stuck).toMatchObject({ status: 'timeout', context: { reset: 'it did not recover from the interrupt' } });
    expect(stuck.error).toMatch(/the context's interpreter was reset/);
    const fresh = await cell(s.id, c.id, '"x" in globals()');
    expect(fresh.context.started).toBe('its interpreter was reset (it did not recover from the interrupt)');
    expect(value(fresh)).toBe('False');
    // past the container's memory (the session's 512Mi, its tmpfs and overhead): the OOM killer takes the interpreter
    const oom = await cell(s.id, c.id, 'b = b"x" * (3 << 30)');
    expect(oom).toMatchObject({ status: 'failed', reason: 'memory_limit', context: { reset: 'its interpreter exited' } });
    const exited = await cell(s.id, c.id, 'import os\nos._exit(3)');
    expect(exited).toMatchObject({ status: 'completed', exit_code: 3, context: { reset: 'its interpreter exited' } });
    expect(value(await cell(s.id, c.id, '1 + 1'))).toBe('2');
  });

  it('restarts a context on request (the next cell runs in a fresh interpreter) and deletes one', async () => {
    const s = await p.session();
    const c = await context(s.id);
    await cell(s.id, c.id, 'x = 1');
    const restarted = await p.api('POST', `/v1/sessions/${s.id}/contexts/${c.id}/restart`);
    expect(restarted).toMatchObject({ status: 200, body: { id: c.id, generation: 2, status: 'active' } });
    const after = await cell(s.id, c.id, '"x" in globals()');
    expect(after.context.started).toBe('restarted as asked');
    expect(value(after)).toBe('False');
    expect((await p.api('DELETE', `/v1/sessions/${s.id}/contexts/${c.id}`)).status).toBe(204);
    expect((await p.api('GET', `/v1/sessions/${s.id}/contexts/${c.id}`)).status).toBe(404);
    expect((await p.api('POST', `/v1/sessions/${s.id}/executions`, { code: '1', context_id: c.id })).status).toBe(404);
    // its interpreter is gone from the sandbox: init, the executor and this run are all that is left
    const processes = async () => (await p.execute(s.id, { code: 'import os\nprint(len([x for x in os.listdir("/proc") if x.isdigit()]))' })).stdout;
    await p.until('the interpreter stopped', async () => (await processes()) === '3\n');
  });

  it('documents contexts, streams and stored results in the OpenAPI spec', async () => {
    const { paths } = (await p.api('GET', '/docs/openapi.json')).body;
    expect(Object.keys(paths)).toEqual(
      expect.arrayContaining([
        '/v1/sessions/{id}/contexts',
        '/v1/sessions/{id}/contexts/{cid}',
        '/v1/sessions/{id}/contexts/{cid}/restart',
        '/v1/executions/{id}/events',
        '/v1/executions/{id}/results/{index}/{mime}',
      ]),
    );
    expect(paths['/v1/executions/{id}/events'].get.responses['200'].description).toMatch(/Server-Sent Events/);
  });

  it('refuses what a context cannot do with a clear error', async () => {
    const s = await p.session();
    const c = await context(s.id);
    const post = (body: Record<string, unknown>) => p.api('POST', `/v1/sessions/${s.id}/executions`, { code: '1', ...body });
    expect(await post({ context_id: c.id, stdin: 'x', args: ['a'] })).toMatchObject({ status: 422, body: { error: { code: 'validation_failed', details: [{ field: 'stdin' }, { field: 'args' }] } } });
    expect(await post({ context_id: c.id, language: 'bash' })).toMatchObject({ status: 422, body: { error: { details: [{ field: 'language' }] } } });
    expect((await post({ context_id: 'ctx_missing' })).status).toBe(404);
    expect(await p.api('POST', `/v1/sessions/${s.id}/contexts`, { language: 'javascript' })).toMatchObject({ status: 422, body: { error: { details: [{ field: 'language' }] } } });
    for (let i = 1; i < 16; i++) await context(s.id);
    expect(await p.api('POST', `/v1/sessions/${s.id}/contexts`, {})).toMatchObject({ status: 409, body: { error: { code: 'too_many_contexts' } } });
  });

  it('returns tables as HTML and figures as real PNG charts in the datascience template, large results by URL', async () => {
    const s = await p.session('python-datascience');
    const c = await context(s.id);
    const table = await cell(s.id, c.id, 'import pandas as pd\ndf = pd.DataFrame({"a": [1, 2], "b": [3, 4]})\ndf');
    expect(table.results[0].data['text/html']).toContain('<table');
    expect(table.results[0].data['text/plain']).toContain('a  b');
    const chart = await cell(s.id, c.id, 'import matplotlib.pyplot as plt\nplt.plot([1, 2, 3], [4, 1, 9], linewidth=4)\nplt.show()');
    const figure = chart.results.find((r: { data: Record<string, string> }) => r.data['image/png']);
    expect(figure).toMatchObject({ kind: 'display', data: { 'text/plain': '<Figure size 640x480 with 1 Axes>' } });
    expectRealChart(Buffer.from(figure.data['image/png'], 'base64'), 640, 480);
    // a plain program's figure left open comes back too
    const script = await p.execute(s.id, { code: 'import matplotlib.pyplot as plt\nplt.bar(["x", "y"], [3, 5])' });
    expectRealChart(Buffer.from(script.results[0].data['image/png'], 'base64'), 640, 480);
    // over the inline limit (64 KiB): stored, and served at its URL
    const big = await cell(s.id, c.id, 'class Big:\n    def _repr_html_(self):\n        return "<p>" + "x" * 100000 + "</p>"\ndisplay(Big())');
    const stored = big.results[0].stored['text/html'];
    expect(stored).toEqual({ url: `/v1/executions/${big.id}/results/0/text/html`, size: 100007 });
    expect(big.results[0].data['text/html']).toBeUndefined();
    const fetched = await p.raw('GET', stored.url);
    expect(fetched.status).toBe(200);
    expect(fetched.headers.get('content-type')).toMatch(/^text\/html/);
    expect(fetched.bytes.toString()).toBe(`<p>${'x'.repeat(100000)}</p>`);
    expect((await p.raw('GET', `/v1/executions/${big.id}/results/1/text/html`)).status).toBe(404);
  });

  it('says a context is lost once its agent is lost, and never re-creates it without its variables', async () => {
    const s = await p.session();
    const c = await context(s.id);
    await cell(s.id, c.id, 'x = 1');
    // the only agent, killed: the next one starts after it, so the session moves there
    await p.stopAgent(s.runtime_node, 'SIGKILL');
    const standby = p.startAgent();
    await p.until('the context lost', async () => (await p.api('GET', `/v1/sessions/${s.id}/contexts/${c.id}`)).body.status === 'lost', 60_000);
    expect(await p.api('POST', `/v1/sessions/${s.id}/executions`, { code: 'x', context_id: c.id })).toMatchObject({ status: 409, body: { error: { code: 'context_lost' } } });
    // the session itself goes on elsewhere, with a new context
    const again = await context(s.id);
    expect(value(await cell(s.id, again.id, '"x" in globals()'))).toBe('False');
    expect((await p.api('GET', `/v1/sessions/${s.id}`)).body.runtime_node).toBe(standby);
  });
});

/** A PNG of the given size whose pixels are not all the same: a chart was drawn. */
function expectRealChart(png: Buffer, width: number, height: number): void {
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([width, height]);
  const idat: Buffer[] = [];
  for (let at = 8; at < png.length; ) {
    const length = png.readUInt32BE(at);
    if (png.toString('latin1', at + 4, at + 8) === 'IDAT') idat.push(png.subarray(at + 8, at + 8 + length));
    at += length + 12;
  }
  const pixels = inflateSync(Buffer.concat(idat));
  const stride = pixels.length / height;
  // scanlines after their filter byte: a blank image has one value; a chart has its lines and axes
  const values = new Set<number>();
  for (let row = 0; row < height; row += 8) for (let i = 1; i < stride; i += 7) values.add(pixels[row * stride + i]!);
  expect(values.size).toBeGreaterThan(8);
}
