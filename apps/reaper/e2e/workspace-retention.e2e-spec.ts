import { listAll } from '@sandbox/storage';
import { TestPlatform } from '@sandbox/testing';

describe('workspace retention by the reaper', () => {
  let p: TestPlatform;

  beforeAll(async () => {
    p = await TestPlatform.start('e2e-retain', { warmPool: 'python-basic=2' });
    p.startReaper({ WORKSPACE_RETENTION_DAYS: '7', RETENTION_INTERVAL_MS: '300' });
  });

  afterAll(async () => {
    await p?.stop();
  });

  const stored = async (id: string) => (await listAll(p.storage.store, `sessions/${id}/`)).length;
  const manifestRows = async (id: string) => Number((await p.query('SELECT COUNT(*) AS n FROM workspace_files WHERE session_id = ?', [id]))[0].n);

  it('deletes the stored workspace of a session ended more than N days ago, and only that one', async () => {
    const [old, recent, live] = await Promise.all([p.session(), p.session(), p.session()]);
    for (const s of [old, recent, live]) await p.execute(s.id, { code: 'import os\nos.makedirs("d", exist_ok=True)\nopen("d/f.txt", "w").write("kept?")' });
    for (const s of [old, recent]) await p.api('DELETE', `/v1/sessions/${s.id}`);
    // ended 8 days ago, on the database clock the reaper judges by
    await p.query('UPDATE sessions SET completed_at = NOW() - INTERVAL 8 DAY WHERE id = ?', [old.id]);
    await p.until('old workspace deleted', async () => (await p.api('GET', `/v1/sessions/${old.id}`)).body.workspace_path === null);
    expect(await stored(old.id)).toBe(0);
    expect(await manifestRows(old.id)).toBe(0);
    const gone = await p.api('GET', `/v1/sessions/${old.id}/files/d/f.txt`);
    expect(gone.status).toBe(410);
    expect(gone.body.error.code).toBe('workspace_deleted');
    expect(await stored(recent.id)).toBe(1);
    expect(await stored(live.id)).toBe(1);
    expect(await manifestRows(recent.id)).toBe(1);
    expect((await p.api('GET', `/v1/sessions/${recent.id}`)).body.workspace_path).not.toBeNull();
  });
});
