import { BOUND_SESSION_STATUS, isSessionLive, LIVE_SESSION_STATUSES, type Session, type SessionStatus, type Transition } from '@sandbox/domain';
import { type DataSource, In, type Repository } from 'typeorm';
import { SessionEntity } from '../entities/session.entity';
import { toSession } from '../mappers';
import { withNamedLock } from '../named-lock';
import { type Page, type PageQuery } from '../page';
import { LIVE_SESSIONS, UNFINISHED_EXECUTIONS } from '../status-sql';

export type NewSession = Pick<Session, 'id' | 'templateId' | 'tenant' | 'runtimeType' | 'envVars' | 'timeout' | 'resources'> & {
  readonly workspacePath: string | null;
  readonly idempotency?: Idempotency | null;
  readonly traceParent?: string | null;
};

/** The Idempotency-Key a row was created with, and the hash of that request's body. */
export interface Idempotency {
  readonly key: string;
  readonly requestHash: string;
}

/** Every status change here is one conditional UPDATE checked by affected rows (DESIGN.md §7). */
export class SessionRepository {
  private readonly repo: Repository<SessionEntity>;

  constructor(private readonly ds: DataSource) {
    this.repo = ds.getRepository(SessionEntity);
  }

  /**
   * Inserts the session unless its tenant already holds `cap` live ones (a named lock per tenant makes
   * the count and the insert one step). Null when inserted, else the tenant's live count.
   */
  async insertWithinCap(s: NewSession, cap: number): Promise<number | null> {
    return withNamedLock(this.ds, `sandbox.tenant.${s.tenant}`, async (m) => {
      const live = await m.countBy(SessionEntity, { tenant: s.tenant, status: In([...LIVE_SESSION_STATUSES]) });
      if (live >= cap) return live;
      await m.insert(SessionEntity, this.row(s));
      return null;
    });
  }

  /** The session a tenant created with this Idempotency-Key, and the hash of that request. */
  async findByIdempotencyKey(tenant: string, key: string): Promise<{ session: Session; requestHash: string | null } | null> {
    const e = await this.repo.findOneBy({ tenant, idempotencyKey: key });
    return e ? { session: toSession(e), requestHash: e.requestHash } : null;
  }

  private row(s: NewSession): Partial<SessionEntity> {
    return {
      id: s.id,
      templateId: s.templateId,
      tenant: s.tenant,
      traceParent: s.traceParent ?? null,
      idempotencyKey: s.idempotency?.key ?? null,
      requestHash: s.idempotency?.requestHash ?? null,
      status: 'creating' as const,
      runtimeType: s.runtimeType,
      envVars: s.envVars,
      timeout: s.timeout,
      resourcesCpu: s.resources.cpu,
      resourcesMemory: s.resources.memory,
      resourcesDisk: s.resources.disk,
      workspacePath: s.workspacePath,
    };
  }

  async findById(id: string): Promise<Session | null> {
    const e = await this.repo.findOneBy({ id });
    return e ? toSession(e) : null;
  }

  /** Newest first; one tenant's only when `tenant` is given. */
  async list(query: PageQuery & { status?: SessionStatus; tenant?: string | null }): Promise<Page<Session>> {
    const qb = this.repo.createQueryBuilder('s').orderBy('s.id', 'DESC').take(query.limit + 1);
    if (query.tenant) qb.andWhere('s.tenant = :tenant', { tenant: query.tenant });
    if (query.status) qb.andWhere('s.status = :status', { status: query.status });
    if (query.cursor) qb.andWhere('s.id < :cursor', { cursor: query.cursor });
    const rows = await qb.getMany();
    const items = rows.slice(0, query.limit).map(toSession);
    return { items, nextCursor: rows.length > query.limit ? items[items.length - 1]!.id : null };
  }

  /** I1: binds the session to a node only if no node holds it yet; true for the one winner. */
  async bind(id: string, node: string, containerId: string, transition: Transition<SessionStatus>): Promise<boolean> {
    const r = await this.repo
      .createQueryBuilder()
      .update()
      .set({ runtimeNode: node, containerId, status: transition.to, lastActivityAt: () => 'CURRENT_TIMESTAMP' })
      .where('id = :id AND runtime_node IS NULL AND status IN (:...from)', { id, from: transition.from })
      .execute();
    return r.affected === 1;
  }

  /** Records the container that replaced a lost one, only while this node still holds the session. */
  async replaceContainer(id: string, node: string, oldContainerId: string | null, newContainerId: string): Promise<boolean> {
    const qb = this.repo
      .createQueryBuilder()
      .update()
      .set({ containerId: newContainerId })
      .where('id = :id AND runtime_node = :node AND status = :bound', { id, node, bound: BOUND_SESSION_STATUS });
    qb.andWhere(oldContainerId === null ? 'container_id IS NULL' : 'container_id = :old', { old: oldContainerId });
    return (await qb.execute()).affected === 1;
  }

  async transition(id: string, t: Transition<SessionStatus>, fields: { error?: string | null } = {}): Promise<boolean> {
    const ends = !isSessionLive(t.to);
    const r = await this.repo
      .createQueryBuilder()
      .update()
      .set({ status: t.to, ...(fields.error !== undefined ? { error: fields.error } : {}), ...(ends ? { completedAt: () => 'CURRENT_TIMESTAMP' } : {}) })
      .where('id = :id AND status IN (:...from)', { id, from: t.from })
      .execute();
    return r.affected === 1;
  }

  /** Ended sessions whose stored workspace is older than the retention (judged on the database clock). */
  async withExpiredWorkspace(retentionDays: number, limit: number): Promise<Session[]> {
    const rows = await this.repo
      .createQueryBuilder('s')
      .where(`s.status NOT IN (${LIVE_SESSIONS})`)
      .andWhere('s.workspace_path IS NOT NULL')
      .andWhere('s.completed_at < NOW() - INTERVAL :days DAY', { days: retentionDays })
      .orderBy('s.completed_at', 'ASC')
      .take(limit)
      .getMany();
    return rows.map(toSession);
  }

  /** Forgets the stored workspace of an ended session (retention deleted it). */
  async clearWorkspace(id: string): Promise<void> {
    await this.repo
      .createQueryBuilder()
      .update()
      .set({ workspacePath: null })
      .where(`id = :id AND status NOT IN (${LIVE_SESSIONS})`, { id })
      .execute();
  }

  async touch(id: string): Promise<void> {
    await this.repo.update({ id }, { lastActivityAt: () => 'CURRENT_TIMESTAMP' });
  }

  /**
   * Live sessions bound to a node whose heartbeat is older than `staleAfter` seconds (or that has no
   * row): they must be placed elsewhere.
   */
  async onLostNodes(staleAfter: number, limit: number): Promise<{ id: string; node: string }[]> {
    const rows: { id: string; runtime_node: string }[] = await this.ds.query(
      `SELECT s.id, s.runtime_node FROM sessions s LEFT JOIN runtime_nodes n ON n.id = s.runtime_node
       WHERE s.runtime_node IS NOT NULL AND s.status IN (${LIVE_SESSIONS})
         AND (n.id IS NULL OR n.last_heartbeat_at IS NULL OR n.last_heartbeat_at < NOW(3) - INTERVAL ? SECOND)
       ORDER BY s.id LIMIT ?`,
      [staleAfter, limit],
    );
    return rows.map((r) => ({ id: r.id, node: r.runtime_node }));
  }

  /** Frees a live session from its node (only if still bound there), so the next execution places it anew. */
  async unbind(id: string, node: string): Promise<boolean> {
    const r = await this.repo
      .createQueryBuilder()
      .update()
      .set({ runtimeNode: null, containerId: null })
      .where(`id = :id AND runtime_node = :node AND status IN (${LIVE_SESSIONS})`, { id, node })
      .execute();
    return r.affected === 1;
  }

  /**
   * Live sessions to end: idle past their own timeout with nothing running or queued (running and
   * queued executions count as activity), or older than `maxLifetime` seconds whatever they do.
   */
  async expired(maxLifetime: number, limit: number): Promise<{ session: Session; reason: 'idle' | 'lifetime' }[]> {
    const rows: { id: string; reason: 'idle' | 'lifetime' }[] = await this.ds.query(
      `SELECT s.id, IF(s.created_at < NOW() - INTERVAL ? SECOND, 'lifetime', 'idle') AS reason FROM sessions s
       WHERE s.status IN (${LIVE_SESSIONS}) AND (s.created_at < NOW() - INTERVAL ? SECOND
         OR (s.last_activity_at < NOW() - INTERVAL s.timeout SECOND
             AND NOT EXISTS (SELECT 1 FROM executions e WHERE e.session_id = s.id AND e.status IN (${UNFINISHED_EXECUTIONS}))))
       ORDER BY s.id LIMIT ?`,
      [maxLifetime, maxLifetime, limit],
    );
    const out: { session: Session; reason: 'idle' | 'lifetime' }[] = [];
    for (const r of rows) {
      const session = await this.findById(r.id);
      if (session) out.push({ session, reason: r.reason });
    }
    return out;
  }

  /** Status and binding of these sessions, for an agent checking what it still holds. */
  async bindings(ids: readonly string[]): Promise<Map<string, Pick<Session, 'status' | 'runtimeNode'>>> {
    if (!ids.length) return new Map();
    const rows = await this.repo.find({ where: { id: In([...ids]) }, select: { id: true, status: true, runtimeNode: true } });
    return new Map(rows.map((r) => [r.id, { status: r.status, runtimeNode: r.runtimeNode }]));
  }

  /** How many live sessions each template has. */
  async countLiveByTemplate(): Promise<Map<string, number>> {
    const rows: { template_id: string; n: number }[] = await this.ds.query(
      `SELECT template_id, COUNT(*) AS n FROM sessions WHERE status IN (${LIVE_SESSIONS}) GROUP BY template_id`,
    );
    return new Map(rows.map((r) => [r.template_id, Number(r.n)]));
  }

  /** How many live sessions each node holds. */
  async countByNode(): Promise<Map<string, number>> {
    const rows: { runtime_node: string; n: number }[] = await this.ds.query(
      `SELECT runtime_node, COUNT(*) AS n FROM sessions WHERE runtime_node IS NOT NULL AND status IN (${LIVE_SESSIONS}) GROUP BY runtime_node`,
    );
    return new Map(rows.map((r) => [r.runtime_node, Number(r.n)]));
  }

  /** Live sessions this node holds a container for. */
  async boundTo(node: string): Promise<Session[]> {
    const rows = await this.repo
      .createQueryBuilder('s')
      .where('s.runtime_node = :node', { node })
      .andWhere(`s.status IN (${LIVE_SESSIONS})`)
      .getMany();
    return rows.map(toSession);
  }

  /** Undoes an insert whose follow-up (the queue) failed, so no half-made session is left behind. */
  async delete(id: string): Promise<void> {
    await this.repo.delete({ id });
  }
}
