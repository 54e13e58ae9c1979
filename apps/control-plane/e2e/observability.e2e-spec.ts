import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ExportedSpan, freePort, otlpReceiver, REPO_ROOT, TestPlatform } from '@sandbox/testing';
import { launch } from 'puppeteer-core';

/** One sample of a Prometheus exposition: the value of `name` whose labels include all of `labels`. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

/** promtool's own lint of an exposition (Debian package prometheus): throws with its complaints. */
function promtoolCheck(text: string): void {
  execFileSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}

/**
 * Metrics of every process: the seed's sandbox_* names with bounded labels, HTTP RED, queue depth and
 * wait, node heartbeats and reaper actions, each behind the admin scope and accepted by promtool.
 */
describe('metrics', () => {
  let p: TestPlatform;
  let agentPort: number;
  let reaperPort: number;
  let otlp: Awaited<ReturnType<typeof otlpReceiver>>;
  const scrape = async (url: string, key = p.adminKey) => {
    const r = await fetch(url, { headers: key ? { authorization: `Bearer ${key}` } : {} });
    return { status: r.status, type: r.headers.get('content-type'), text: await r.text() };
  };

  beforeAll(async () => {
    agentPort = await freePort();
    reaperPort = await freePort();
    otlp = await otlpReceiver();
    const tracing = { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${otlp.port}`, OTEL_BSP_SCHEDULE_DELAY: '200' };
    p = await TestPlatform.start('e2e-metrics', {
      warmPool: 'python-basic=1',
      agentEnv: { METRICS_PORT: String(agentPort), ...tracing },
      controlPlaneEnv: tracing,
    });
    p.startReaper({ METRICS_PORT: String(reaperPort) });
    for (const port of [agentPort, reaperPort]) {
      await p.until(`/metrics on port ${port}`, async () => (await fetch(`http://127.0.0.1:${port}/metrics`).catch(() => null))?.status === 401);
    }
    const warm = await p.session();
    await p.execute(warm.id, { code: 'print("ok")' });
    await p.execute(warm.id, { code: 'import time\ntime.sleep(5)', timeout: 1 });
    await p.execute(warm.id, { code: 'raise SystemExit(3)' });
    // a second python session finds the pool being refilled, or takes the refill: either start is measured
    await p.session('nodejs-basic');
  });

  afterAll(async () => {
    await p?.stop();
    otlp?.server.close();
  });

  it('keeps every /metrics behind the admin scope', async () => {
    const tenant = (await p.createKey('tenant', 'acme')).secret;
    expect((await scrape(`${p.url}/metrics`, '')).status).toBe(401);
    expect((await scrape(`${p.url}/metrics`, tenant)).status).toBe(403);
    for (const port of [agentPort, reaperPort]) {
      expect((await scrape(`http://127.0.0.1:${port}/metrics`, '')).status).toBe(401);
      expect((await scrape(`http://127.0.0.1:${port}/metrics`, tenant)).status).toBe(401);
      expect((await scrape(`http://127.0.0.1:${port}/other`)).status).toBe(404);
    }
  });

  it('control plane: sessions, outcome rates, queue depth, node heartbeats and HTTP RED, accepted by promtool', async () => {
    const m = await scrape(`${p.url}/metrics`);
    expect(m.status).toBe(200);
    expect(m.type).toMatch(/^text\/plain;.*version=0\.0\.4/);
    expect(sample(m.text, 'sandbox_sessions_total', { template: 'python-basic' })).toBe(1);
    expect(sample(m.text, 'sandbox_sessions_active', { template: 'python-basic' })).toBe(1);
    expect(sample(m.text, 'sandbox_sessions_active', { template: 'nodejs-basic' })).toBe(1);
    expect(sample(m.text, 'sandbox_timeout_rate', { template: 'python-basic' })).toBeCloseTo(1 / 3, 5);
    expect(sample(m.text, 'sandbox_failure_rate', { template: 'python-basic' })).toBe(0);
    expect(sample(m.text, 'sandbox_queue_jobs', { queue: 'sandbox-shared', state: 'waiting' })).toBe(0);
    expect(sample(m.text, 'sandbox_node_heartbeat_age_seconds', { node: p.nodeIds[0]!, status: 'online' })).toBeLessThan(10);
    expect(sample(m.text, 'http_request_duration_seconds_count', { method: 'POST', route: '/v1/sessions/:id/executions', status_code: '200' })).toBe(3);
    expect(sample(m.text, 'http_request_duration_seconds_count', { method: 'GET', route: '/metrics', status_code: '403' })).toBe(1);
    expect(m.text).not.toMatch(/sess_[0-9A-Z]{26}|exec_[0-9A-Z]{26}/);
    expect(sample(m.text, 'process_resident_memory_bytes', { service: 'control-plane' })).toBeGreaterThan(0);
    promtoolCheck(m.text);
  });

  it('agent: executions by verdict, their duration, pool size, warm and cold starts, queue wait, doorbells heard and node use, accepted by promtool', async () => {
    const m = await scrape(`http://127.0.0.1:${agentPort}/metrics`);
    expect(m.status).toBe(200);
    const verdict = (status: string, reason: string) => sample(m.text, 'sandbox_executions_total', { template: 'python-basic', status, reason });
    expect([verdict('completed', 'exited'), verdict('timeout', 'wall_timeout')]).toEqual([2, 1]);
    expect(sample(m.text, 'sandbox_execution_duration_seconds_count', { template: 'python-basic', status: 'timeout' })).toBe(1);
    // the first python session finds the pool warm, or not yet filled (the agent fills it as it starts)
    const starts = (kind: string) => sample(m.text, `sandbox_${kind}_start_duration_count`, { template: 'python-basic' }) ?? 0;
    expect(starts('warm') + starts('cold')).toBe(1);
    expect(sample(m.text, 'sandbox_cold_start_duration_count', { template: 'nodejs-basic' })).toBe(1);
    expect(sample(m.text, 'sandbox_warm_pool_size', { template: 'python-basic' })).toBeLessThanOrEqual(1);
    expect(sample(m.text, 'sandbox_queue_wait_seconds_count', { queue: 'shared' })).toBeGreaterThanOrEqual(2);
    // the three executions' doorbells, published to the agent holding their sessions
    expect(sample(m.text, 'sandbox_doorbells_heard_total', {})).toBeGreaterThanOrEqual(3);
    expect(sample(m.text, 'sandbox_executions_running', { node: p.nodeIds[0]! })).toBe(0);
    for (const name of ['sandbox_runtime_cpu_usage', 'sandbox_runtime_memory_usage']) {
      const v = sample(m.text, name, { node: p.nodeIds[0]! })!;
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(1);
    }
    promtoolCheck(m.text);
  });

  it('reaper: when each task last ran and what it did, accepted by promtool', async () => {
    const m = await p.until('a recovery tick', async () => {
      const r = await scrape(`http://127.0.0.1:${reaperPort}/metrics`);
      return sample(r.text, 'sandbox_reaper_last_run_timestamp_seconds', { task: 'recovery' }) ? r : null;
    });
    expect(sample(m.text, 'sandbox_reaper_last_run_timestamp_seconds', { task: 'recovery' })! * 1000).toBeGreaterThan(Date.now() - 60_000);
    promtoolCheck(m.text);
  });

  it('serves bull-board at /admin/queues to admin keys only; headless Chromium sees our queues', async () => {
    expect((await fetch(`${p.url}/admin/queues`)).status).toBe(401);
    const tenant = (await p.createKey('tenant', 'acme')).secret;
    expect((await fetch(`${p.url}/admin/queues`, { headers: { authorization: `Bearer ${tenant}` } })).status).toBe(403);
    const browser = await launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    try {
      const page = await browser.newPage();
      // every request of the page, the board's API calls too, carries the admin key
      await page.setExtraHTTPHeaders(p.authorization());
      const answer = await page.goto(`${p.url}/admin/queues`, { waitUntil: 'networkidle0' });
      expect(answer?.status()).toBe(200);
      const nodeQueue = `sandbox-node-${p.nodeIds[0]}`;
      // page code as strings: this file is compiled without the DOM library
      await page.waitForFunction(`document.body.innerText.includes(${JSON.stringify(nodeQueue)})`, { timeout: 30_000 });
      const text = String(await page.evaluate('document.body.innerText'));
      expect(text).toContain('Sandbox queues');
      for (const q of ['sandbox-shared', 'sandbox-reaper', nodeQueue]) expect(text).toContain(q);
    } finally {
      await browser.close();
    }
  }, 60_000);

  it('traces an execution from the HTTP request into the agent, its run and its result write', async () => {
    const s = await p.session();
    const r = await p.api('POST', `/v1/sessions/${s.id}/executions?wait=true`, { code: 'print("traced")' });
    const traceparent = r.headers.get('traceparent')!;
    expect(traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
    const traceId = traceparent.split('-')[1];
    // each process exports in its own batches: wait for both ends of the trace
    const spans = await p.until('the spans of both processes in that trace', async () => {
      const mine = otlp.spans.filter((x) => x.traceId === traceId);
      const arrived = (service: string, name: RegExp) => mine.some((x) => x.service === service && name.test(x.name));
      return arrived('runtime-agent', /^result\.write$/) && arrived('control-plane', /^POST/) ? mine : null;
    });
    const byId = new Map(spans.map((x) => [x.spanId, x]));
    const lineage = (x: ExportedSpan) => {
      const out = [x];
      for (let up = byId.get(x.parentSpanId); up; up = byId.get(up.parentSpanId)) out.push(up);
      return out.map((y) => `${y.service} ${y.name}`);
    };
    const chain = lineage(spans.find((x) => x.name === 'result.write')!);
    expect(chain.slice(0, 2)).toEqual(['runtime-agent result.write', 'runtime-agent execution.run']);
    // the root: the control plane's span of the POST, across the queue and the process boundary
    expect(chain.at(-1)).toMatch(/^control-plane POST/);
    const root = spans.find((x) => `${x.service} ${x.name}` === chain.at(-1))!;
    expect(root.parentSpanId).toBe('');
    expect(root.attributes).toMatchObject({ 'sandbox.session_id': s.id, 'sandbox.execution_id': r.body.id });
    const run = spans.find((x) => x.name === 'execution.run')!;
    expect(run.attributes).toMatchObject({ 'sandbox.session_id': s.id, 'sandbox.execution_id': r.body.id, 'sandbox.node': p.nodeIds[0], 'sandbox.status': 'completed' });
    for (const step of ['workspace.pull', 'sandbox.run', 'workspace.push']) expect(lineage(spans.find((x) => x.name === step)!)[1]).toBe('runtime-agent execution.run');
    // the run continues the request itself (the execution row carries its traceparent): the doorbell,
    // published to the agent that holds the session, is no job of the queue
    expect(lineage(run)).toEqual(['runtime-agent execution.run', 'control-plane POST']);
    expect(spans.filter((x) => /run-execution$|^process sandbox-/.test(x.name))).toEqual([]);
  });

  it('traces the placement of a session: the claim of its container continues the request that created it', async () => {
    const created = await p.api('POST', '/v1/sessions', { template_id: 'python-basic' });
    const traceId = created.headers.get('traceparent')!.split('-')[1];
    // the claim ends before the placement around it: they may come in different batches
    const [claim, parent] = await p.until('the claim span and its parent', async () => {
      const c = otlp.spans.find((x) => x.traceId === traceId && x.name === 'sandbox.claim');
      const up = c && otlp.spans.find((x) => x.spanId === c.parentSpanId);
      return up ? [c, up] : null;
    });
    expect(claim.attributes).toMatchObject({ 'sandbox.template_id': 'python-basic', 'sandbox.warm': expect.any(Boolean) });
    expect(parent).toMatchObject({ service: 'runtime-agent', name: 'session.place' });
  });

  it('logs JSON lines with the ids, the node, the duration and the trace, never a key or a probe', async () => {
    const s = await p.session();
    const r = await p.api('POST', `/v1/sessions/${s.id}/executions?wait=true`, { code: 'print("logged")' });
    const traceId = r.headers.get('traceparent')!.split('-')[1];
    await p.api('GET', '/health');
    const lines = (name: string) =>
      readFileSync(join(REPO_ROOT, '.stack', 'test-logs', `e2e-metrics-${name}.log`), 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l));
    const agent = await p.until('the agent logged the result', async () =>
      lines(`agent-${p.nodeIds[0]}`).find((l) => l.msg === 'execution finished' && l.execution_id === r.body.id),
    );
    expect(agent).toMatchObject({
      service: 'runtime-agent',
      level: 'info',
      session_id: s.id,
      execution_id: r.body.id,
      template_id: 'python-basic',
      runtime_node: p.nodeIds[0],
      status: 'completed',
      reason: 'exited',
      duration_ms: expect.any(Number),
      trace_id: traceId,
    });
    // logged when the response has gone out, which the client may see first
    const request = await p.until('the control plane logged the request', async () =>
      lines('control-plane').find((l) => l.msg === 'request completed' && l.trace_id === traceId),
    );
    const controlPlane = lines('control-plane');
    expect(controlPlane.find((l) => l.msg === 'execution accepted' && l.execution_id === r.body.id)).toMatchObject({ session_id: s.id, template_id: 'python-basic', trace_id: traceId });
    expect(request).toMatchObject({ duration_ms: expect.any(Number), res: { statusCode: 200 }, req: { headers: { authorization: '[redacted]' } } });
    expect(controlPlane.filter((l) => ['/health', '/ready', '/metrics'].includes(l.req?.url))).toEqual([]);
    const everything = [...controlPlane, ...lines(`agent-${p.nodeIds[0]}`)].map((l) => JSON.stringify(l)).join('\n');
    expect(everything).not.toContain(p.adminKey);
    expect(everything).not.toContain('print(\\"logged\\")');
  });
});
