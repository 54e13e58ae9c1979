import { TestPlatform } from '@sandbox/testing';

/**
 * A client extends or shortens a live session's idle timeout (PATCH /v1/sessions/:id) and keeps it
 * alive (POST …/keepalive), with the real reaper ending idle sessions. Orderings, not durations, are
 * asserted: a kept-alive session outlives one that was left idle.
 */
describe('session lifetime set by the client', () => {
  let p: TestPlatform;
  const status = async (id: string) => (await p.api('GET', `/v1/sessions/${id}`)).body.status;
  const timedOut = (id: string) => p.until(`session ${id} timed out`, async () => (await status(id)) === 'timeout', 60_000);

  beforeAll(async () => {
    p = await TestPlatform.start('e2e-lifetime', { warmPool: 'python-basic=3' });
    p.startReaper({ REAPER_INTERVAL_MS: '500' });
  });

  afterAll(async () => {
    await p?.stop();
  });

  it('keep-alives and a longer timeout keep sessions running while an idle one times out; a shorter timeout ends one sooner', async () => {
    const [idle, kept, extended] = [await p.session('python-basic', { timeout: 10 }), await p.session('python-basic', { timeout: 10 }), await p.session('python-basic', { timeout: 10 })];
    const patched = await p.api('PATCH', `/v1/sessions/${extended.id}`, { timeout: 3600 });
    expect(patched).toMatchObject({ status: 200, body: { id: extended.id, status: 'running', timeout: 3600 } });
    let keeping = true;
    const keepAlive = (async () => {
      while (keeping) {
        expect((await p.api('POST', `/v1/sessions/${kept.id}/keepalive`)).body).toMatchObject({ id: kept.id, status: 'running', timeout: 10 });
        await new Promise((r) => setTimeout(r, 2000));
      }
    })();
    try {
      await timedOut(idle.id);
      expect([await status(kept.id), await status(extended.id)]).toEqual(['running', 'running']);
    } finally {
      keeping = false;
      await keepAlive;
    }
    // left alone now: the kept one times out at its own 10 s, the extended one once shortened again
    await timedOut(kept.id);
    expect(await status(extended.id)).toBe('running');
    expect((await p.api('PATCH', `/v1/sessions/${extended.id}`, { timeout: 10 })).body.timeout).toBe(10);
    await timedOut(extended.id);
    const events = (await p.api('GET', '/v1/audit-events?limit=100')).body.items.filter((e: { target_id: string }) => e.target_id === extended.id);
    expect(events.map((e: { action: string; detail: unknown }) => [e.action, e.detail])).toEqual([
      ['session.expire', { reason: 'idle', tenant: 'ops' }],
      ['session.update', { timeout: 10 }],
      ['session.update', { timeout: 3600 }],
      ['session.create', { template_id: 'python-basic' }],
    ]);
  });

  it('refuses a timeout out of bounds or missing (422, saying what is allowed), an ended session (409), and another tenant (404)', async () => {
    const s = await p.session();
    for (const body of [{ timeout: 5 }, { timeout: 86_401 }, { timeout: 30.5 }, {}, { timeout: 60, extra: 1 }]) {
      const r = await p.api('PATCH', `/v1/sessions/${s.id}`, body);
      expect({ body, status: r.status, code: r.body.error.code }).toEqual({ body, status: 422, code: 'validation_failed' });
    }
    expect((await p.api('PATCH', `/v1/sessions/${s.id}`, { timeout: 5 })).body.error.details).toEqual([expect.objectContaining({ field: 'timeout', message: expect.stringMatching(/10/) })]);
    const other = (await p.createKey('tenant', 'other')).secret;
    expect((await p.api('PATCH', `/v1/sessions/${s.id}`, { timeout: 60 }, { authorization: `Bearer ${other}` })).status).toBe(404);
    expect((await p.api('POST', `/v1/sessions/${s.id}/keepalive`, undefined, { authorization: `Bearer ${other}` })).status).toBe(404);
    await p.api('DELETE', `/v1/sessions/${s.id}`);
    for (const [method, path, body] of [
      ['PATCH', `/v1/sessions/${s.id}`, { timeout: 60 }],
      ['POST', `/v1/sessions/${s.id}/keepalive`, undefined],
    ] as const) {
      const r = await p.api(method, path, body);
      expect(r.status).toBe(409);
      expect(r.body.error).toMatchObject({ code: 'session_ended', message: `session '${s.id}' is terminated: an ended session cannot be kept alive; create a new session` });
    }
    expect((await p.api('GET', `/v1/sessions/${s.id}`)).body.timeout).toBe(300);
  });
});
