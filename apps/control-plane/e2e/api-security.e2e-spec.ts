import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { hashApiKey } from '@sandbox/domain';
import { REPO_ROOT, TestPlatform } from '@sandbox/testing';

const RATE_LIMIT = 1000;
const TENANT_CAP = 3;
const PENDING_CAP = 3;

/**
 * The API against hostile clients (research/reliability.md §2.2 A10, A13, A16, A17, A19, A20 and §5):
 * keys, scopes, tenant isolation, rate limits and caps at their exact boundaries, idempotent retries,
 * the audit log, and slow clients.
 */
describe('API security', () => {
  let p: TestPlatform;
  const as = (secret: string) => ({ authorization: `Bearer ${secret}` });
  const tenantKey = async (tenant: string) => (await p.createKey('tenant', tenant)).secret;

  beforeAll(async () => {
    p = await TestPlatform.start('e2e-sec', {
      warmPool: 'python-basic=1',
      controlPlaneEnv: {
        RATE_LIMIT_REQUESTS: String(RATE_LIMIT),
        TENANT_MAX_SESSIONS: String(TENANT_CAP),
        SESSION_MAX_PENDING: String(PENDING_CAP),
        HTTP_HEADERS_TIMEOUT_MS: '1000',
        HTTP_REQUEST_TIMEOUT_MS: '2000',
      },
    });
  });

  afterAll(async () => {
    await p?.stop();
  });

  describe('authentication (A17)', () => {
    it('answers a request without a key with 401 and a Bearer challenge', async () => {
      const r = await p.api('GET', '/v1/templates', undefined, { authorization: '' });
      expect(r.status).toBe(401);
      expect(r.headers.get('www-authenticate')).toBe('Bearer realm="sandbox"');
      expect(r.body.error).toEqual({ code: 'missing_api_key', message: 'send an API key as "Authorization: Bearer <key>"', details: [] });
    });

    it.each([['Basic dXNlcjpwYXNz'], ['Bearer'], ['Bearer a b'], ['sbx_0000000000000000000000000000000000000000']])('answers the header %j with 401', async (header) => {
      const r = await p.api('GET', '/v1/templates', undefined, { authorization: header });
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe('invalid_authorization');
    });

    it.each([['sbx_' + '0'.repeat(40)], ['sbx_short'], ['x'.repeat(5000)]])('answers an unknown key %# with 401 invalid_api_key', async (secret) => {
      const r = await p.api('GET', '/v1/templates', undefined, as(secret));
      expect(r.status).toBe(401);
      expect(r.body.error).toMatchObject({ code: 'invalid_api_key', message: 'the API key is not valid' });
    });

    it('answers an expired key with 401 naming its prefix, and accepts it until its expiry', async () => {
      const soon = await p.createKey('tenant', 'acme', { expiresAt: new Date(Date.now() + 60_000) });
      expect((await p.api('GET', '/v1/templates', undefined, as(soon.secret))).status).toBe(200);
      const past = await p.createKey('tenant', 'acme', { expiresAt: new Date(Date.now() - 1000) });
      const r = await p.api('GET', '/v1/templates', undefined, as(past.secret));
      expect(r.status).toBe(401);
      expect(r.body.error).toMatchObject({ code: 'expired_api_key', message: `the API key '${past.secret.slice(0, 12)}…' is expired` });
    });

    it('keeps probes and the API docs open', async () => {
      for (const path of ['/health', '/ready', '/docs/openapi.json']) {
        expect((await p.api('GET', path, undefined, { authorization: '' })).status).toBe(200);
      }
    });
  });

  describe('API keys (admin)', () => {
    it('creates a key shown once, stores only its sha256, lists it by prefix, records its use, and revokes it at once', async () => {
      const created = await p.api('POST', '/v1/api-keys', { name: 'ci of acme', scope: 'tenant', tenant: 'acme', expires_in_days: 30 });
      expect(created.status).toBe(201);
      const { key, id, prefix } = created.body;
      expect(key).toMatch(/^sbx_[0-9a-f]{40}$/);
      expect(prefix).toBe(key.slice(0, 12));
      expect(Date.parse(created.body.expires_at) - Date.now()).toBeGreaterThan(29 * 86_400_000);
      const [row] = await p.query('SELECT * FROM api_keys WHERE id = ?', [id]);
      expect(row.key_hash).toBe(hashApiKey(key));
      expect(JSON.stringify(row)).not.toContain(key.slice(12));

      expect(created.body.last_used_at).toBeNull();
      expect((await p.api('GET', '/v1/templates', undefined, as(key))).status).toBe(200);
      const listed = await p.until('last_used_at recorded', async () => {
        const items = (await p.api('GET', '/v1/api-keys?tenant=acme')).body.items;
        const k = items.find((i: { id: string }) => i.id === id);
        return k?.last_used_at ? k : null;
      });
      expect(listed).toMatchObject({ prefix, scope: 'tenant', tenant: 'acme', name: 'ci of acme', revoked_at: null });
      expect(JSON.stringify(listed)).not.toContain(key.slice(12));

      const revoked = await p.api('DELETE', `/v1/api-keys/${id}`);
      expect(revoked.status).toBe(200);
      expect(revoked.body.revoked_at).not.toBeNull();
      const after = await p.api('GET', '/v1/templates', undefined, as(key));
      expect(after.status).toBe(401);
      expect(after.body.error).toMatchObject({ code: 'revoked_api_key' });
    });

    it('refuses a bad key request listing every field, and an unknown key id with 404', async () => {
      const r = await p.api('POST', '/v1/api-keys', { name: '', scope: 'root', tenant: 'Not A Tenant', expires_in_days: 0 });
      expect(r.status).toBe(422);
      expect(r.body.error.details.map((d: { field: string }) => d.field).sort()).toEqual(['expires_in_days', 'name', 'scope', 'tenant']);
      expect((await p.api('DELETE', '/v1/api-keys/key_nope')).status).toBe(404);
    });

    it.each([
      ['GET', '/v1/nodes'],
      ['POST', '/v1/nodes/any/drain'],
      ['GET', '/v1/api-keys'],
      ['POST', '/v1/api-keys'],
      ['GET', '/v1/audit-events'],
    ])('answers %s %s with 403 for a tenant key', async (method, path) => {
      const r = await p.api(method, path, method === 'POST' ? {} : undefined, as(await tenantKey('acme')));
      expect(r.status).toBe(403);
      expect(r.body.error).toEqual({ code: 'forbidden', message: 'this operation needs an API key of the admin scope', details: [] });
    });
  });

  describe("another tenant's objects (A10)", () => {
    let alice: string;
    let bob: string;
    let session: { id: string };
    let execution: { id: string };

    beforeAll(async () => {
      alice = await tenantKey('alice');
      bob = await tenantKey('bob');
      const created = await p.api('POST', '/v1/sessions', { template_id: 'python-basic' }, as(alice));
      expect(created.body.tenant).toBe('alice');
      session = created.body;
      const run = await p.api('POST', `/v1/sessions/${session.id}/executions?wait=true`, { code: 'open("a.txt", "w").write("secret of alice")', collect: ['a.txt'] }, as(alice));
      expect(run.body.status).toBe('completed');
      execution = run.body;
    });

    const notFound = (what: string, id: string) => ({ code: 'not_found', message: `${what} '${id}' does not exist`, details: [] });

    it.each([
      ['GET', 'session', (s: string) => `/v1/sessions/${s}`],
      ['DELETE', 'session', (s: string) => `/v1/sessions/${s}`],
      ['POST', 'session', (s: string) => `/v1/sessions/${s}/executions`],
      ['GET', 'session', (s: string) => `/v1/sessions/${s}/executions`],
      ['GET', 'session', (s: string) => `/v1/sessions/${s}/files`],
      ['GET', 'session', (s: string) => `/v1/sessions/${s}/files/a.txt`],
      ['PUT', 'session', (s: string) => `/v1/sessions/${s}/files/b.txt`],
      ['DELETE', 'session', (s: string) => `/v1/sessions/${s}/files/a.txt`],
    ])('%s on her %s answers bob exactly as an id that does not exist (404)', async (method, what, path) => {
      const body = method === 'POST' ? { code: 'print(1)' } : method === 'PUT' ? 'x' : undefined;
      const theirs = await p.api(method, path(session.id), body, as(bob));
      const missing = await p.api(method, path('sess_01JZZZZZZZZZZZZZZZZZZZZZZZ'), body, as(bob));
      expect([theirs.status, missing.status]).toEqual([404, 404]);
      expect(theirs.body.error).toEqual(notFound(what, session.id));
      expect(missing.body.error).toEqual(notFound(what, 'sess_01JZZZZZZZZZZZZZZZZZZZZZZZ'));
    });

    it('hides her execution and its artifacts from bob, and leaves her session as it was', async () => {
      expect((await p.api('GET', `/v1/executions/${execution.id}`, undefined, as(bob))).body.error).toEqual(notFound('execution', execution.id));
      expect((await p.api('GET', `/v1/executions/${execution.id}/artifacts/a.txt`, undefined, as(bob))).status).toBe(404);
      expect((await p.api('GET', '/v1/sessions', undefined, as(bob))).body.items).toEqual([]);
      expect((await p.api('GET', `/v1/sessions/${session.id}`, undefined, as(alice))).body.status).toBe('running');
      expect((await p.api('GET', `/v1/sessions/${session.id}/files/a.txt`, undefined, as(alice))).body).toBe('secret of alice');
      expect((await p.api('GET', '/v1/sessions', undefined, as(alice))).body.items.map((s: { id: string }) => s.id)).toEqual([session.id]);
    });

    it('lets an admin key see every tenant', async () => {
      expect((await p.api('GET', `/v1/executions/${execution.id}`)).status).toBe(200);
      expect((await p.api('GET', '/v1/sessions')).body.items.map((s: { id: string }) => s.id)).toContain(session.id);
    });
  });

  describe('rate limit (A16)', () => {
    it(`lets a key make ${RATE_LIMIT} requests in the window and answers the next with 429, Retry-After and RateLimit-*`, async () => {
      const key = await tenantKey('limited');
      const first = await p.api('GET', '/v1/templates', undefined, as(key));
      expect(first.headers.get('ratelimit-limit')).toBe(String(RATE_LIMIT));
      expect(first.headers.get('ratelimit-remaining')).toBe(String(RATE_LIMIT - 1));
      expect(Number(first.headers.get('ratelimit-reset'))).toBeGreaterThan(0);
      let last = first;
      for (let i = 2; i <= RATE_LIMIT; i++) last = await p.api('GET', '/v1/templates', undefined, as(key));
      expect(last.status).toBe(200);
      expect(last.headers.get('ratelimit-remaining')).toBe('0');
      const over = await p.api('GET', '/v1/templates', undefined, as(key));
      expect(over.status).toBe(429);
      expect(over.body.error.code).toBe('rate_limited');
      expect(over.body.error.message).toMatch(new RegExp(`more than ${RATE_LIMIT} requests in 60 s; retry after \\d+ s`));
      expect(Number(over.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(over.headers.get('ratelimit-remaining')).toBe('0');
      // another key of the same tenant has its own count
      expect((await p.api('GET', '/v1/templates', undefined, as(await tenantKey('limited')))).status).toBe(200);
    });
  });

  describe('caps', () => {
    it(`holds a tenant to ${TENANT_CAP} live sessions (429 past it), and frees a place when one ends`, async () => {
      const key = await tenantKey('capped');
      const ids: string[] = [];
      for (let i = 0; i < TENANT_CAP; i++) {
        const r = await p.api('POST', '/v1/sessions', { template_id: 'python-basic' }, as(key));
        expect(r.status).toBe(201);
        ids.push(r.body.id);
      }
      const over = await p.api('POST', '/v1/sessions', { template_id: 'python-basic' }, as(key));
      expect(over.status).toBe(429);
      expect(over.headers.get('retry-after')).toBe('10');
      expect(over.body.error).toMatchObject({ code: 'too_many_sessions', message: `tenant 'capped' holds ${TENANT_CAP} live sessions, its maximum; terminate one (DELETE /v1/sessions/{id}) or wait for one to end` });
      // other tenants are not held back
      expect((await p.api('POST', '/v1/sessions', { template_id: 'python-basic' }, as(await tenantKey('uncapped')))).status).toBe(201);
      expect((await p.api('DELETE', `/v1/sessions/${ids[0]}`, undefined, as(key))).status).toBe(200);
      const again = await p.api('POST', '/v1/sessions', { template_id: 'python-basic' }, as(key));
      expect(again.status).toBe(201);
      for (const id of [...ids.slice(1), again.body.id]) await p.api('DELETE', `/v1/sessions/${id}`, undefined, as(key));
    });

    it(`holds a session to ${PENDING_CAP} queued executions (429 past it)`, async () => {
      const s = await p.session();
      const busy = await p.api('POST', `/v1/sessions/${s.id}/executions`, { code: 'import time; time.sleep(30)' });
      await p.until('the long execution running', async () => (await p.api('GET', `/v1/executions/${busy.body.id}`)).body.status === 'running');
      for (let i = 0; i < PENDING_CAP; i++) expect((await p.api('POST', `/v1/sessions/${s.id}/executions`, { code: `print(${i})` })).status).toBe(202);
      const over = await p.api('POST', `/v1/sessions/${s.id}/executions`, { code: 'print("one too many")' });
      expect(over.status).toBe(429);
      expect(over.headers.get('retry-after')).toBe('1');
      expect(over.body.error).toMatchObject({ code: 'too_many_pending', message: `session '${s.id}' has ${PENDING_CAP} executions waiting to run, its maximum; wait for some to finish` });
      expect((await p.query("SELECT COUNT(*) AS n FROM executions WHERE session_id = ? AND status = 'pending'", [s.id]))[0].n).toBe(PENDING_CAP);
      await p.api('DELETE', `/v1/sessions/${s.id}`);
    });
  });

  describe('Idempotency-Key (A13)', () => {
    it('returns the same session on a retry, refuses the key with another body, and scopes keys to the tenant', async () => {
      const key = await tenantKey('idem');
      const headers = { ...as(key), 'idempotency-key': 'create-1' };
      const first = await p.api('POST', '/v1/sessions', { template_id: 'python-basic', timeout: 60 }, headers);
      const retry = await p.api('POST', '/v1/sessions', { timeout: 60, template_id: 'python-basic' }, headers);
      expect([first.status, retry.status]).toEqual([201, 201]);
      expect(retry.body.id).toBe(first.body.id);
      expect(first.headers.get('idempotent-replayed')).toBeNull();
      expect(retry.headers.get('idempotent-replayed')).toBe('true');
      const other = await p.api('POST', '/v1/sessions', { template_id: 'python-basic', timeout: 61 }, headers);
      expect(other.status).toBe(422);
      expect(other.body.error).toMatchObject({ code: 'idempotency_key_reused' });
      const elsewhere = await p.api('POST', '/v1/sessions', { template_id: 'python-basic', timeout: 60 }, { ...as(await tenantKey('idem2')), 'idempotency-key': 'create-1' });
      expect(elsewhere.status).toBe(201);
      expect(elsewhere.body.id).not.toBe(first.body.id);
      expect((await p.query("SELECT COUNT(*) AS n FROM sessions WHERE tenant = 'idem'"))[0].n).toBe(1);
    });

    it('runs an execution once however often, and however concurrently, it is retried; without a key two are two', async () => {
      const s = await p.session();
      const body = { code: 'print("once")' };
      const retries = await Promise.all(Array.from({ length: 6 }, () => p.api('POST', `/v1/sessions/${s.id}/executions?wait=true`, body, { 'idempotency-key': 'run-1' })));
      expect(new Set(retries.map((r) => r.body.id)).size).toBe(1);
      expect(retries.map((r) => r.status)).toEqual(Array(6).fill(200));
      expect(retries.every((r) => r.body.stdout === 'once\n')).toBe(true);
      expect(retries.filter((r) => r.headers.get('idempotent-replayed') === 'true')).toHaveLength(5);
      await p.api('POST', `/v1/sessions/${s.id}/executions?wait=true`, body);
      await p.api('POST', `/v1/sessions/${s.id}/executions?wait=true`, body);
      expect((await p.query('SELECT COUNT(*) AS n FROM executions WHERE session_id = ?', [s.id]))[0].n).toBe(3);
    });

    it.each([[''], ['has space'], ['x'.repeat(129)], ['ünïcode']])('refuses the Idempotency-Key %j with 400', async (k) => {
      const r = await p.api('POST', '/v1/sessions', { template_id: 'python-basic' }, { 'idempotency-key': k });
      expect(r.status).toBe(400);
      expect(r.body.error).toMatchObject({ code: 'invalid_idempotency_key' });
    });

    it('accepts a key of exactly 128 characters', async () => {
      const r = await p.api('POST', '/v1/sessions', { template_id: 'python-basic' }, { 'idempotency-key': 'k'.repeat(128) });
      expect(r.status).toBe(201);
      await p.api('DELETE', `/v1/sessions/${r.body.id}`);
    });
  });

  describe('audit log', () => {
    it('records who created, terminated and drained what, and refuses every change to a recorded event', async () => {
      const admin = (await p.query("SELECT id FROM api_keys WHERE name = 'admin-ops'"))[0].id;
      const s = await p.api('POST', '/v1/sessions', { template_id: 'python-basic' });
      await p.api('DELETE', `/v1/sessions/${s.body.id}`);
      // a node row of its own: draining the real agent would end it once its sessions moved away
      const node = 'audit-node';
      await p.query("INSERT INTO runtime_nodes (id, hostname, version, status, capacity, last_heartbeat_at) VALUES (?, 'h', 'v', 'online', 1, NOW())", [node]);
      await p.api('POST', `/v1/nodes/${node}/drain`);
      await p.api('POST', `/v1/nodes/${node}/undrain`);
      const events = (await p.api('GET', `/v1/audit-events?limit=100`)).body.items;
      const of = (target: string) => events.filter((e: { target_id: string }) => e.target_id === target).map((e: { action: string; actor: string; outcome: string }) => [e.action, e.actor, e.outcome]);
      expect(of(s.body.id)).toEqual([
        ['session.terminate', admin, 'ok'],
        ['session.create', admin, 'ok'],
      ]);
      expect(of(node)).toEqual([
        ['node.undrain', admin, 'ok'],
        ['node.drain', admin, 'ok'],
      ]);
      expect(events.map((e: { action: string }) => e.action)).toEqual(expect.arrayContaining(['api_key.create', 'api_key.revoke']));
      expect(events[0]).toMatchObject({ request_id: expect.any(String), ip: expect.any(String), tenant: 'ops' });
      expect(JSON.stringify(events)).not.toMatch(/sbx_[0-9a-f]{13}/);
      const filtered = (await p.api('GET', `/v1/audit-events?action=node.drain`)).body.items;
      expect(filtered.map((e: { target_id: string }) => e.target_id)).toEqual([node]);
      await expect(p.query('UPDATE audit_events SET outcome = ?', ['forged'])).rejects.toThrow(/append-only/);
      await expect(p.query('DELETE FROM audit_events')).rejects.toThrow(/append-only/);
    });
  });

  describe('list queries (A19)', () => {
    it.each([
      ['?limit=100', 200],
      ['?limit=101', 422],
      ['?limit=1', 200],
      ['?limit=0', 422],
      ['?limit=1e9', 422],
      ['?limit=-1', 422],
    ])('GET /v1/sessions%s → %i', async (q, status) => {
      expect((await p.api('GET', `/v1/sessions${q}`)).status).toBe(status);
    });
  });

  describe('quantities, env vars, waits and text (A7, A8, A14, A18)', () => {
    it.each([['99999Gi'], ['-1'], ['1e3Mi'], ['12 Mi'], ['0x10Mi']])('refuses resources.memory %j with 422', async (memory) => {
      const r = await p.api('POST', '/v1/sessions', { template_id: 'python-basic', resources: { memory } });
      expect(r.status).toBe(422);
      expect(r.body.error.details.map((d: { field: string }) => d.field)).toEqual(['resources.memory']);
    });

    it.each([['A=B'], [''], ['A\u0000B'], ['9LIVES']])('refuses the env var name %j with 422', async (name) => {
      const r = await p.api('POST', '/v1/sessions', { template_id: 'python-basic', env_vars: { [name]: 'v' } });
      expect(r.status).toBe(422);
      expect(r.body.error.details).toHaveLength(1);
    });

    it('never writes env var values to the logs', async () => {
      const value = 'env-value-4b1d-never-logged';
      const s = await p.session('python-basic', { env_vars: { TOKEN: value } });
      expect((await p.execute(s.id, { code: 'import os\nprint(len(os.environ["TOKEN"]))' })).stdout).toBe(`${value.length}\n`);
      expect(readFileSync(join(REPO_ROOT, '.stack', 'test-logs', 'e2e-sec-control-plane.log'), 'utf8')).not.toContain(value);
      await p.api('DELETE', `/v1/sessions/${s.id}`);
    });

    it('clamps a huge wait_ms, and a client hanging up does not cancel the execution', async () => {
      const s = await p.session();
      const clamped = await p.api('POST', `/v1/sessions/${s.id}/executions?wait_ms=1000000000000`, { code: 'print("waited")' });
      expect(clamped).toMatchObject({ status: 200, body: { status: 'completed', stdout: 'waited\n' } });
      const gone = new AbortController();
      const hungUp = fetch(`${p.url}/v1/sessions/${s.id}/executions?wait=true`, {
        method: 'POST',
        headers: { ...p.authorization(), 'content-type': 'application/json' },
        body: JSON.stringify({ code: 'import time\ntime.sleep(1)\nprint("finished anyway")' }),
        signal: gone.signal,
      }).catch((e: Error) => e.name);
      const id = await p.until('the execution running', async () => (await p.query("SELECT id FROM executions WHERE session_id = ? AND id != ? AND status = 'running'", [s.id, clamped.body.id]))[0]?.id);
      gone.abort();
      expect(await hungUp).toBe('AbortError');
      const done = await p.until('the execution finished', async () => {
        const e = (await p.api('GET', `/v1/executions/${id}`)).body;
        return e.status !== 'pending' && e.status !== 'running' && e;
      });
      expect(done).toMatchObject({ status: 'completed', stdout: 'finished anyway\n' });
      await p.api('DELETE', `/v1/sessions/${s.id}`);
    });

    it('stores and runs emoji, right-to-left and 4-byte UTF-8 byte for byte', async () => {
      const s = await p.session();
      const text = '😀 שלום עולם 𝄞 مرحبا 🇺🇳';
      const e = await p.execute(s.id, { code: `print(${JSON.stringify(text)})` });
      expect(e.stdout).toBe(`${text}\n`);
      expect((await p.api('GET', `/v1/executions/${e.id}`)).body.code).toBe(`print(${JSON.stringify(text)})`);
      expect((await p.query('SELECT code FROM executions WHERE id = ?', [e.id]))[0].code).toBe(`print(${JSON.stringify(text)})`);
      await p.api('DELETE', `/v1/sessions/${s.id}`);
    });
  });

  describe('slow clients (A20)', () => {
    it('closes a connection whose headers trickle in past the headers timeout, with 408', async () => {
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = connect(p.port, '127.0.0.1');
        let got = '';
        const trickle = setInterval(() => socket.write('X-Slow: 1\r\n'), 200);
        socket.on('connect', () => socket.write('GET /v1/templates HTTP/1.1\r\nHost: x\r\n'));
        socket.on('data', (d) => (got += d.toString()));
        socket.on('close', () => {
          clearInterval(trickle);
          resolve(got);
        });
        socket.on('error', reject);
      });
      expect(answer).toMatch(/^HTTP\/1\.1 408 Request Timeout/);
      expect((await p.api('GET', '/v1/templates')).status).toBe(200);
    });
  });
});
