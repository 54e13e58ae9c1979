import { TestPlatform } from '@sandbox/testing';
import { type ExecutionEvent, NotFoundError, Sandbox, type SandboxSession, ValidationError } from './index';

// per key and window: small enough that a burst of one test hits it, large enough that the others never wait long
const RATE_LIMIT = 40;
const RATE_WINDOW_SECONDS = 2;

const streamOf = (bytes: Uint8Array, pieces = 3) =>
  new ReadableStream<Uint8Array>({
    start(c) {
      const size = Math.ceil(bytes.length / pieces);
      for (let i = 0; i < bytes.length; i += size) c.enqueue(bytes.slice(i, i + size));
      c.close();
    },
  });
const text = (body: ReadableStream<Uint8Array>) => new Response(body).text();

/**
 * The TypeScript SDK against the real platform (control plane, agent, Docker, S3): what a user of
 * `new Sandbox(...)` does, and that retries, idempotency and stream resumption hold on the wire.
 */
describe('@sandbox/sdk', () => {
  let p: TestPlatform;
  let sbx: Sandbox;
  let s: SandboxSession;
  let key: string;

  beforeAll(async () => {
    p = await TestPlatform.start('e2e-ts-sdk', {
      warmPool: 'python-basic=1',
      controlPlaneEnv: { RATE_LIMIT_REQUESTS: String(RATE_LIMIT), RATE_LIMIT_WINDOW_SECONDS: String(RATE_WINDOW_SECONDS) },
    });
    key = (await p.createKey('tenant', 'sdk')).secret;
    sbx = new Sandbox({ apiKey: key, baseUrl: p.url });
    s = await sbx.sessions.create({ template: 'python-basic', envVars: { NAME: 'sdk' } });
  });

  afterAll(async () => {
    await s?.terminate().catch(() => undefined);
    await p?.stop();
  });

  it('creates a session that is running when create resolves, and lists it', async () => {
    expect(s.status).toBe('running');
    expect(s.info).toMatchObject({ template_id: 'python-basic', env_vars: ['NAME'] });
    const page = await sbx.sessions.list({ status: 'running' });
    expect(page.items.map((x) => x.id)).toContain(s.id);
    expect((await sbx.sessions.get(s.id)).info.id).toBe(s.id);
    expect((await sbx.templates.list()).map((t) => t.id)).toContain('python-basic');
    expect((await sbx.runtimes.list()).some((r) => r.template_id === 'python-basic' && r.language === 'python')).toBe(true);
  });

  it('runs code and returns the finished execution', async () => {
    const r = await s.run('import os, sys\nprint("hello", os.environ["NAME"], os.environ["EXTRA"])\nprint(sys.stdin.read().upper(), file=sys.stderr)\nsys.exit(3)', {
      stdin: 'in',
      env: { EXTRA: 'x' },
      timeout: 20,
    });
    expect(r).toMatchObject({ status: 'completed', exit_code: 3, stdout: 'hello sdk x\n', stderr: 'IN\n' });
    const listed = await s.executions.list({ limit: 5 });
    expect(listed.items[0]!.id).toBe(r.id);
    expect((await s.executions.get(r.id)).stdout).toBe('hello sdk x\n');
  });

  it('streams output as it happens: stdout comes before the result, and long before it', async () => {
    const seen: { ev: ExecutionEvent; at: number }[] = [];
    for await (const ev of s.stream('import time\nprint("first", flush=True)\ntime.sleep(1.5)\nprint("second", flush=True)')) seen.push({ ev, at: Date.now() });
    const types = seen.map((x) => x.ev.type);
    expect(types[0]).toBe('execution');
    expect(types.at(-1)).toBe('result');
    const stdout = seen.filter((x) => x.ev.type === 'stdout');
    expect(stdout.map((x) => (x.ev.data as { data: string }).data).join('')).toBe('first\nsecond\n');
    expect(stdout[0]!.ev.id).toMatch(/^\d+-\d+$/);
    const result = seen.at(-1)!;
    expect(result.at - stdout[0]!.at).toBeGreaterThan(1_000);
    expect(result.ev.data).toMatchObject({ status: 'completed', exit_code: 0, stdout: 'first\nsecond\n' });
  });

  it('resumes a stream whose connection broke with Last-Event-ID: every piece once', async () => {
    const requests: { url: string; lastEventId: string | null }[] = [];
    // the first connection breaks right after the first chunk holding output
    const breaking = async (url: string, init?: RequestInit) => {
      const h = new Headers(init?.headers);
      requests.push({ url, lastEventId: h.get('last-event-id') });
      const res = await fetch(url, init);
      if (!url.includes('stream=true') || !res.body) return res;
      const reader = res.body.getReader();
      const cut = new ReadableStream<Uint8Array>({
        async pull(c) {
          const { done, value } = await reader.read();
          if (done) return c.close();
          c.enqueue(value);
          if (new TextDecoder().decode(value).includes('event: stdout')) {
            await reader.cancel();
            c.error(new TypeError('terminated'));
          }
        },
      });
      return new Response(cut, { status: res.status, headers: res.headers });
    };
    const flaky = new Sandbox({ apiKey: key, baseUrl: p.url, fetch: breaking });
    const session = await flaky.sessions.get(s.id);
    const events: ExecutionEvent[] = [];
    for await (const ev of session.stream('import time\nfor i in range(4):\n    print(i, flush=True)\n    time.sleep(0.4)')) events.push(ev);
    expect(events.filter((e) => e.type === 'execution')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'stdout').map((e) => (e.data as { data: string }).data).join('')).toBe('0\n1\n2\n3\n');
    expect(events.at(-1)).toMatchObject({ type: 'result', data: { status: 'completed' } });
    const resumed = requests.filter((r) => r.url.includes('/events'));
    expect(resumed.length).toBeGreaterThanOrEqual(1);
    expect(resumed[0]!.lastEventId).toMatch(/^\d+-\d+$/);
  });

  it('runs cells in a context: variables stay, the last expression is the value', async () => {
    const ctx = await s.contexts.create({ language: 'python' });
    expect(ctx).toMatchObject({ session_id: s.id, language: 'python', status: 'active' });
    await s.run('x = 41', { contextId: ctx.id });
    const cell = await s.run('x + 1', { contextId: ctx.id });
    expect(cell.results.find((r) => r.kind === 'value')?.data['text/plain']).toBe('42');
    expect((await s.contexts.list()).map((c) => c.id)).toContain(ctx.id);
    await s.contexts.delete(ctx.id);
    await expect(s.contexts.get(ctx.id)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('uploads a stream, the program reads it, and the file downloads as a stream; artifacts too', async () => {
    const bytes = new Uint8Array(300_000).map((_, i) => (i * 7) % 251);
    const info = await s.files.upload('data/in.bin', streamOf(bytes));
    expect(info).toMatchObject({ path: 'data/in.bin', size: bytes.length });
    await s.files.upload('data/note.txt', 'héllo');
    const code = ['import os', 'os.makedirs("out", exist_ok=True)', 'd = open("data/in.bin", "rb").read()', 'note = open("data/note.txt", encoding="utf-8").read()', 'open("out/report.txt", "w", encoding="utf-8").write(f"{len(d)} {note.upper()}")'];
    const r = await s.run(code.join('\n'));
    expect(r).toMatchObject({ status: 'completed', exit_code: 0 });
    const back = new Uint8Array(await new Response(await s.files.download('data/in.bin')).arrayBuffer());
    expect(back).toEqual(bytes);
    expect(r.artifacts?.map((a) => a.path)).toContain('out/report.txt');
    expect(await text(await sbx.executions.artifact(r.id, 'out/report.txt'))).toBe('300000 HÉLLO');
    expect((await s.files.list({ prefix: 'data/' })).items.map((f) => f.path)).toEqual(['data/in.bin', 'data/note.txt']);
    await s.files.remove('data/note.txt');
    await expect(s.files.download('data/note.txt')).rejects.toMatchObject({ status: 404, code: 'not_found' });
  });

  it('cancels a long run', async () => {
    const started = await s.start('import time\nprint("going", flush=True)\ntime.sleep(120)');
    await p.until('running', async () => (await s.executions.get(started.id)).status === 'running');
    await s.executions.cancel(started.id);
    const ended = await s.executions.wait(started.id);
    expect(ended).toMatchObject({ status: 'failed', reason: 'cancelled' });
  });

  it('replays a request made with the same Idempotency-Key instead of doing it twice', async () => {
    const key = `sdk-${Date.now()}`;
    const a = await s.run('import random\nprint(random.random())', { idempotencyKey: key });
    const b = await s.run('import random\nprint(random.random())', { idempotencyKey: key });
    expect(b.id).toBe(a.id);
    expect(b.stdout).toBe(a.stdout);
    await expect(s.run('print(2)', { idempotencyKey: key })).rejects.toMatchObject({ status: 422, code: 'idempotency_key_reused' });
    const sessionKey = `sdk-session-${Date.now()}`;
    const one = await sbx.sessions.create({ template: 'python-basic', idempotencyKey: sessionKey, wait: false });
    const two = await sbx.sessions.create({ template: 'python-basic', idempotencyKey: sessionKey, wait: false });
    expect(two.id).toBe(one.id);
    await one.terminate();
  });

  it('throws typed errors with the API code', async () => {
    const e = await sbx.sessions.get('sess_00000000000000000000000000').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NotFoundError);
    expect(e).toMatchObject({ status: 404, code: 'not_found' });
    await expect(s.run('')).rejects.toBeInstanceOf(ValidationError);
    // a tenant key is not an admin
    await expect(sbx.nodes.list()).rejects.toMatchObject({ status: 403 });
    await expect(new Sandbox({ apiKey: 'sbx_wrong', baseUrl: p.url }).templates.list()).rejects.toMatchObject({ name: 'AuthenticationError', status: 401 });
  });

  it('retries 429 after the Retry-After the API sent, and every request gets its answer', async () => {
    const log: { url: string; status: number; at: number; retryAfter: string | null }[] = [];
    const counting = async (url: string, init?: RequestInit) => {
      const res = await fetch(url, init);
      log.push({ url, status: res.status, at: Date.now(), retryAfter: res.headers.get('retry-after') });
      return res;
    };
    const burst = new Sandbox({ apiKey: (await p.createKey('tenant', 'sdk-burst')).secret, baseUrl: p.url, fetch: counting, maxRetries: 5 });
    // each call its own URL (limit=i), to follow its tries
    const pages = await Promise.all(Array.from({ length: RATE_LIMIT + 10 }, (_, i) => burst.sessions.list({ limit: i + 1 })));
    expect(pages).toHaveLength(RATE_LIMIT + 10);
    const limited = log.filter((l) => l.status === 429);
    expect(limited.length).toBeGreaterThanOrEqual(10);
    for (const refusal of limited) {
      expect(Number(refusal.retryAfter)).toBeGreaterThanOrEqual(1);
      const next = log.find((l) => l.url === refusal.url && l.at > refusal.at);
      expect(next).toBeDefined();
      // setTimeout may fire a few ms early relative to Date.now()
      expect(next!.at - refusal.at).toBeGreaterThanOrEqual(Number(refusal.retryAfter) * 1000 - 50);
    }
  });

  it('does admin work with an admin key: nodes, drain, keys', async () => {
    const admin = new Sandbox({ apiKey: p.adminKey, baseUrl: p.url });
    const nodes = await admin.nodes.list();
    expect(nodes.length).toBeGreaterThanOrEqual(1);
    const created = await admin.keys.create({ tenant: 'acme', scope: 'tenant', name: 'from the sdk' });
    expect(created.key).toMatch(/^sbx_/);
    expect((await admin.keys.list({ tenant: 'acme' })).map((k) => k.id)).toContain(created.id);
    const acme = new Sandbox({ apiKey: created.key, baseUrl: p.url });
    expect((await acme.templates.list()).length).toBeGreaterThan(0);
    expect((await admin.keys.revoke(created.id)).revoked_at).not.toBeNull();
    await expect(admin.nodes.drain('no-such-node')).rejects.toBeInstanceOf(NotFoundError);
  });
});
