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

/** Appends and reads; the table refuses updates and deletes by itself (init.sql triggers). */
export class AuditRepository {
  private readonly repo: Repository<AuditEventEntity>;

  constructor(ds: DataSource) {
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
}
