import { type AuditAction, type AuditEvent, type RecordedAuditEvent } from '@sandbox/domain';
import { type DataSource, type Repository } from 'typeorm';
import { AuditEventEntity } from '../entities/audit-event.entity';
import { toAuditEvent } from '../mappers';

export interface AuditQuery {
  readonly limit: number;
  /** Id of the last event of the previous page; pages go newest first. */
  readonly cursor?: number;
  readonly action?: AuditAction;
  readonly targetId?: string;
}

/** Events read per query of an export, and deleted per statement of a prune. */
const AUDIT_BATCH = 1000;

/**
 * Appends and reads; the table refuses updates and deletes by itself (init.sql triggers), except the
 * deletes of `prune`, the one admin operation that may.
 */
export class AuditRepository {
  private readonly repo: Repository<AuditEventEntity>;

  constructor(private readonly ds: DataSource) {
    this.repo = ds.getRepository(AuditEventEntity);
  }

  async append(e: AuditEvent): Promise<void> {
    await this.repo.insert({ ...e, requestId: e.requestId ?? null, ip: e.ip ?? null, detail: e.detail ? { ...e.detail } : null });
  }

  async list(q: AuditQuery): Promise<{ items: RecordedAuditEvent[]; nextCursor: number | null }> {
    const qb = this.repo.createQueryBuilder('a').orderBy('a.id', 'DESC').take(q.limit + 1);
    if (q.cursor !== undefined) qb.andWhere('a.id < :cursor', { cursor: q.cursor });
    if (q.action) qb.andWhere('a.action = :action', { action: q.action });
    if (q.targetId) qb.andWhere('a.target_id = :target', { target: q.targetId });
    const rows = await qb.getMany();
    const items = rows.slice(0, q.limit).map(toAuditEvent);
    return { items, nextCursor: rows.length > q.limit ? items[items.length - 1]!.id : null };
  }

  /** Every event that occurred before `before`, oldest first, read a batch at a time (an export streams them). */
  async *before(before: Date): AsyncGenerator<RecordedAuditEvent> {
    let after = 0;
    for (;;) {
      const rows = await this.repo
        .createQueryBuilder('a')
        .where('a.occurred_at < :before AND a.id > :after', { before, after })
        .orderBy('a.id', 'ASC')
        .take(AUDIT_BATCH)
        .getMany();
      for (const row of rows) yield toAuditEvent(row);
      if (rows.length < AUDIT_BATCH) return;
      after = Number(rows[rows.length - 1]!.id);
    }
  }

  /**
   * Deletes the events that occurred before `before`, a bounded batch per statement, on one connection
   * that holds @sandbox_audit_prune = 1 (the variable the delete trigger lets through) only meanwhile.
   * Returns how many went.
   */
  async prune(before: Date): Promise<number> {
    const runner = this.ds.createQueryRunner();
    await runner.connect();
    let deleted = 0;
    try {
      await runner.query('SET @sandbox_audit_prune = 1');
      for (;;) {
        const r: { affectedRows: number } = await runner.query('DELETE FROM audit_events WHERE occurred_at < ? ORDER BY occurred_at LIMIT ?', [before, AUDIT_BATCH]);
        deleted += r.affectedRows;
        if (r.affectedRows < AUDIT_BATCH) return deleted;
      }
    } finally {
      // the connection goes back to the pool: it must not let the next user delete
      await runner.query('SET @sandbox_audit_prune = NULL').finally(() => runner.release());
    }
  }
}
