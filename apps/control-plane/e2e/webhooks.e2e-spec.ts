import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { freePort, TestPlatform } from '@sandbox/testing';
import { Webhook } from 'standardwebhooks';

interface Received {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly status: number;
}

/**
 * A webhook receiver on this host: answers 200, except on /flaky, where each message id is answered
 * 500 three times first. Keeps every request it got and the status it answered.
 */
class Receiver {
  readonly received: Received[] = [];
  private server: Server | null = null;
  port = 0;

  async start(): Promise<void> {
    this.port = await freePort();
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = req.url ?? '';
        const id = String(req.headers['webhook-id']);
        const failures = this.received.filter((r) => r.path === path && r.headers['webhook-id'] === id && r.status === 500).length;
        const status = path.startsWith('/flaky') && failures < 3 ? 500 : 200;
        this.received.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString(), status });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  of(executionId: string): Received[] {
    return this.received.filter((r) => r.headers['webhook-id'] === executionId);
  }

  async stop(): Promise<void> {
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

const headersOf = (r: Received) => ({
  'webhook-id': String(r.headers['webhook-id']),
  'webhook-timestamp': String(r.headers['webhook-timestamp']),
  'webhook-signature': String(r.headers['webhook-signature']),
});

/** Signed result webhooks to a real receiver: signatures, retries, the delivery log, SSRF rules, restarts. */
describe('result webhooks', () => {
  let p: TestPlatform;
  const receiver = new Receiver();
  let secret: string;

  beforeAll(async () => {
    await receiver.start();
    // the receiver is on loopback: allowed here as an operator would allow an internal network
    p = await TestPlatform.start('e2e-webhooks', { warmPool: 'python-basic=1', controlPlaneEnv: { WEBHOOK_ALLOWED_NETWORKS: '127.0.0.0/8' } });
    p.startReaper({ REAPER_INTERVAL_MS: '500' });
    secret = (await p.api('GET', '/v1/webhooks/secret')).body.secret;
  });

  afterAll(async () => {
    await p?.stop();
    await receiver.stop();
  });

  const delivered = (id: string, n = 1) => p.until(`${n} deliveries of ${id}`, async () => (receiver.of(id).filter((r) => r.status === 200).length >= n ? true : null), 60_000);

  it('POSTs the signed result once, which the receiver verifies with its tenant secret, and logs the delivery', async () => {
    const s = await p.session();
    const e = await p.execute(s.id, { code: 'print("hooked")', callback_url: receiver.url('/ok') });
    expect(e).toMatchObject({ callback_url: receiver.url('/ok') });
    await delivered(e.id);
    const [got] = receiver.of(e.id);
    expect(got!.headers['content-type']).toBe('application/json');
    const payload = new Webhook(secret).verify(got!.body, headersOf(got!)) as { type: string; data: Record<string, unknown> };
    expect(payload).toMatchObject({ type: 'execution.finished', data: { id: e.id, status: 'completed', stdout: 'hooked\n', session_id: s.id } });
    // a changed body, or another tenant's secret, does not verify
    expect(() => new Webhook(secret).verify(got!.body.replace('hooked', 'forged'), headersOf(got!))).toThrow();
    const other = await p.createKey('tenant', 'acme');
    const otherSecret = (await p.api('GET', '/v1/webhooks/secret', undefined, { authorization: `Bearer ${other.secret}` })).body.secret;
    expect(otherSecret).not.toBe(secret);
    expect(() => new Webhook(otherSecret).verify(got!.body, headersOf(got!))).toThrow();

    await p.until('delivered', async () => ((await p.api('GET', `/v1/executions/${e.id}`)).body.webhook_state === 'delivered' ? true : null));
    const log = (await p.api('GET', `/v1/executions/${e.id}/deliveries`)).body.items;
    expect(log).toEqual([{ attempt: 1, url: receiver.url('/ok'), status_code: 200, error: null, duration_ms: expect.any(Number), created_at: expect.any(String) }]);
    expect(receiver.of(e.id)).toHaveLength(1);
  });

  it('tries again with backoff: a receiver that fails 3 times gets the 4th attempt', async () => {
    const s = await p.session();
    const e = await p.execute(s.id, { code: 'print(1)', callback_url: receiver.url('/flaky') });
    await delivered(e.id);
    expect(receiver.of(e.id).map((r) => r.status)).toEqual([500, 500, 500, 200]);
    const log = (await p.api('GET', `/v1/executions/${e.id}/deliveries`)).body.items;
    expect(log.map((d: { attempt: number; status_code: number }) => [d.attempt, d.status_code])).toEqual([
      [1, 500],
      [2, 500],
      [3, 500],
      [4, 200],
    ]);
    expect(log[0].error).toBe('the receiver answered 500');
    // the same message each time: one id, each signed
    for (const r of receiver.of(e.id)) expect(() => new Webhook(secret).verify(r.body, headersOf(r))).not.toThrow();
    const gaps = log.slice(1).map((d: { created_at: string }, i: number) => Date.parse(d.created_at) - Date.parse(log[i].created_at));
    expect(gaps[2]).toBeGreaterThan(gaps[0]);
  });

  it('never delivers to a private, loopback, link-local or metadata address the operator did not allow', async () => {
    const s = await p.session();
    const port = receiver.port;
    for (const url of ['http://169.254.169.254/latest/meta-data/', `http://[::1]:${port}/ok`, `http://10.0.0.1:${port}/ok`, `http://[::ffff:169.254.169.254]/`]) {
      const e = await p.execute(s.id, { code: 'print(1)', callback_url: url });
      await p.until(`${url} refused`, async () => ((await p.api('GET', `/v1/executions/${e.id}`)).body.webhook_state === 'failed' ? true : null));
      const log = (await p.api('GET', `/v1/executions/${e.id}/deliveries`)).body.items;
      expect({ url, log: log.map((d: { status_code: number | null }) => d.status_code) }).toEqual({ url, log: [null] });
      expect(log[0].error).toMatch(/WEBHOOK_ALLOWED_NETWORKS/);
    }
    for (const [url, message] of [
      ['ftp://example.com/x', /http or https/],
      ['http://user:pw@example.com/', /without credentials/],
      ['not a url', /absolute URL/],
    ] as const) {
      const r = await p.api('POST', `/v1/sessions/${s.id}/executions`, { code: 'print(1)', callback_url: url });
      expect(r.status).toBe(422);
      expect(r.body.error.details).toEqual([{ field: 'callback_url', message: expect.stringMatching(message) }]);
    }
  });

  it('delivers each execution exactly once across control plane and reaper restarts, whoever ended it', async () => {
    const s = await p.session();
    // queued behind a slow one: cancelled while pending, it is ended by the control plane, not an agent
    const slow = (await p.api('POST', `/v1/sessions/${s.id}/executions`, { code: 'import time; time.sleep(3)', callback_url: receiver.url('/ok') })).body;
    const ids = [slow.id];
    for (let i = 0; i < 5; i++) ids.push((await p.api('POST', `/v1/sessions/${s.id}/executions`, { code: `print(${i})`, callback_url: receiver.url('/ok') })).body.id);
    const cancelled = (await p.api('POST', `/v1/sessions/${s.id}/executions`, { code: 'print("never")', callback_url: receiver.url('/ok') })).body;
    expect((await p.api('POST', `/v1/executions/${cancelled.id}/cancel`)).body.status).toBe('failed');
    ids.push(cancelled.id);
    // every delivering process dies while the executions run and end
    await p.stopControlPlane('SIGKILL');
    await p.stopReapers('SIGKILL');
    await p.until('every execution ended', async () => {
      const [row] = await p.query<{ n: number }>(`SELECT COUNT(*) AS n FROM executions WHERE id IN (?) AND status NOT IN ('pending', 'running')`, [ids]);
      return Number(row?.n) === ids.length ? true : null;
    });
    p.startReaper({ REAPER_INTERVAL_MS: '500' });
    p.startControlPlane();
    await p.ready();
    for (const id of ids) await delivered(id);
    // and a restart more changes nothing: nothing is sent twice
    await p.stopReapers('SIGKILL');
    p.startReaper({ REAPER_INTERVAL_MS: '500' });
    await new Promise((r) => setTimeout(r, 3000));
    for (const id of ids) expect({ id, deliveries: receiver.of(id).length }).toEqual({ id, deliveries: 1 });
    const payload = new Webhook(secret).verify(receiver.of(cancelled.id)[0]!.body, headersOf(receiver.of(cancelled.id)[0]!)) as { data: { reason: string } };
    expect(payload.data.reason).toBe('cancelled');
  });
});
