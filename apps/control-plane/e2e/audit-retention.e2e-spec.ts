import { TestPlatform } from '@sandbox/testing';

/** The append-only audit log leaves only through the admin's export and prune, each of them audited. */
describe('audit log export and prune (admin)', () => {
  let p: TestPlatform;
  let tenant: string;
  const monthAgo = () => new Date(Date.now() - 30 * 86_400_000).toISOString();
  const events = async (action: string) => (await p.api('GET', `/v1/audit-events?action=${action}`)).body.items;

  beforeAll(async () => {
    p = await TestPlatform.start('e2e-audit-prune', { agents: 0 });
    tenant = (await p.createKey('tenant', 'acme')).secret;
    await p.query(
      `INSERT INTO audit_events (occurred_at, actor, tenant, action, target_type, target_id, outcome)
       SELECT NOW(3) - INTERVAL 40 DAY + INTERVAL seq SECOND, 'cli', 'acme', 'session.create', 'session', CONCAT('sess_old_', seq), 'ok' FROM seq_1_to_5`,
    );
  });

  afterAll(async () => {
    await p?.stop();
  });

  it('documents both operations in the OpenAPI document', async () => {
    const { paths } = (await p.api('GET', '/docs/openapi.json')).body;
    expect(Object.keys(paths['/v1/audit-events/export'].get.responses['200'].content)).toEqual(['application/x-ndjson']);
    expect(paths['/v1/audit-events/export'].get.parameters.map((q: { name: string }) => q.name)).toEqual(['before']);
    expect(paths['/v1/audit-events/prune'].post.requestBody).toBeDefined();
  });

  it.each([
    ['GET', `/v1/audit-events/export?before=2020-01-01T00:00:00Z`],
    ['POST', '/v1/audit-events/prune'],
  ])('answers %s %s with 403 for a tenant key', async (method, path) => {
    const r = await p.api(method, path, method === 'POST' ? { before: '2020-01-01T00:00:00Z' } : undefined, p.authorization(tenant));
    expect(r.status).toBe(403);
  });

  it.each([['yesterday'], ['2999-01-01T00:00:00Z'], ['']])('refuses before=%j with 422', async (before) => {
    expect((await p.api('GET', `/v1/audit-events/export?before=${before}`)).status).toBe(422);
    const r = await p.api('POST', '/v1/audit-events/prune', { before });
    expect(r.status).toBe(422);
    expect(r.body.error.details[0].field).toBe('before');
  });

  it('exports the events before a time as NDJSON, oldest first, and audits the export', async () => {
    const before = monthAgo();
    const res = await fetch(`${p.url}/v1/audit-events/export?before=${before}`, { headers: p.authorization() });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    const lines = (await res.text()).split('\n').filter(Boolean).map((l) => JSON.parse(l));
    expect(lines.map((e) => e.target_id)).toEqual(['sess_old_1', 'sess_old_2', 'sess_old_3', 'sess_old_4', 'sess_old_5']);
    expect(lines[0]).toMatchObject({ actor: 'cli', tenant: 'acme', action: 'session.create', outcome: 'ok' });
    const [exported] = await p.until('export audited', async () => (await events('audit.export')).length && events('audit.export'));
    expect(exported).toMatchObject({ target_type: 'audit_log', target_id: before, detail: { before, events: 5 } });
  });

  it('prunes the events before a time, records the prune, and leaves the log append-only', async () => {
    const before = monthAgo();
    const r = await p.api('POST', '/v1/audit-events/prune', { before });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ before, deleted: 5 });
    const left = await p.query<{ action: string }>('SELECT action FROM audit_events ORDER BY id');
    expect(left.map((e) => e.action)).toEqual(['audit.export', 'audit.prune']);
    const [pruned] = await events('audit.prune');
    expect(pruned).toMatchObject({ target_type: 'audit_log', target_id: before, detail: { before } });
    // outside the prune, a DELETE is refused as before
    await expect(p.query('DELETE FROM audit_events')).rejects.toThrow(/append-only/);
    expect((await p.api('POST', '/v1/audit-events/prune', { before })).body.deleted).toBe(0);
  });
});
