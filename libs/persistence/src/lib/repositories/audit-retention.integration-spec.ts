import { createTestDatabase, type TestDatabase } from '@sandbox/testing';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../data-source-options';
import { AuditRepository } from './audit.repository';

/** The audit log is append-only on MariaDB itself; only the admin prune deletes, and only what it names. */
describe('audit log export and prune on MariaDB', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let audit: AuditRepository;
  const count = async () => Number((await ds.query('SELECT COUNT(*) AS n FROM audit_events'))[0].n);

  beforeAll(async () => {
    db = await createTestDatabase('audit');
    // one connection: the prune's session variable would show on the next statement if it stayed set
    ds = await new DataSource(dataSourceOptions(db.url, { poolSize: 1 })).initialize();
    audit = new AuditRepository(ds);
    // 2,500 events 40 days old (more than one batch), 10 from yesterday
    await ds.query(
      `INSERT INTO audit_events (occurred_at, actor, action, target_type, target_id, outcome)
       SELECT NOW(3) - INTERVAL 40 DAY + INTERVAL seq SECOND, 'cli', 'session.create', 'session', CONCAT('old-', seq), 'ok' FROM seq_1_to_2500`,
    );
    await ds.query(
      `INSERT INTO audit_events (occurred_at, actor, action, target_type, target_id, outcome)
       SELECT NOW(3) - INTERVAL 1 DAY, 'cli', 'session.create', 'session', CONCAT('new-', seq), 'ok' FROM seq_1_to_10`,
    );
  });

  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('refuses a plain UPDATE or DELETE', async () => {
    await expect(ds.query("UPDATE audit_events SET outcome = 'forged'")).rejects.toThrow(/append-only/);
    await expect(ds.query('DELETE FROM audit_events')).rejects.toThrow(/append-only/);
    expect(await count()).toBe(2510);
  });

  it('exports every event before a time, oldest first, across batches', async () => {
    const before = new Date(Date.now() - 30 * 86_400_000);
    const ids: string[] = [];
    for await (const e of audit.before(before)) ids.push(e.targetId);
    expect(ids).toHaveLength(2500);
    expect(ids[0]).toBe('old-1');
    expect(ids[2499]).toBe('old-2500');
  });

  it('prunes exactly the events before the time, and the table is append-only again after', async () => {
    expect(await audit.prune(new Date(Date.now() - 30 * 86_400_000))).toBe(2500);
    expect(await count()).toBe(10);
    expect((await ds.query('SELECT @sandbox_audit_prune AS v'))[0].v).toBeNull();
    await expect(ds.query('DELETE FROM audit_events')).rejects.toThrow(/append-only/);
    expect(await audit.prune(new Date(Date.now() - 30 * 86_400_000))).toBe(0);
    expect(await count()).toBe(10);
  });
});
