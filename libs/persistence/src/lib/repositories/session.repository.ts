import { BOUND_SESSION_STATUS, isSessionLive, LIVE_SESSION_STATUSES, type PlacementBacklog, type Session, type SessionErrorCode, type SessionStatus, type Transition } from '@sandbox/domain';
import { LRUCache } from 'lru-cache';
import { type DataSource, In, type Repository } from 'typeorm';
import { SessionEntity } from '../entities/session.entity';
import { EntityRows } from '../entity-rows';
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

/** Where a waiting session stands in the placement queue (1: next). */
export interface QueuePlace {
  readonly position: number;
  readonly waitingSince: Date;
}

// the placement queue: new sessions no node took yet
const WAITING = "s.status = 'creating' AND s.runtime_node IS NULL AND s.placement_requested_at IS NOT NULL";
/**
 * Fair order, round-robin by tenant over the placement window (the last `window` seconds, and every
 * session still waiting): a tenant's n-th session asked for in the window comes in round n, whether its
 * earlier ones wait or were placed already, and within a round the longest waiting goes first. So a
 * tenant's burst of 200 delays another tenant's one session by one turn at most, not by 200, however
 * many of the burst were placed meanwhile. Parameter: the window in seconds.
 */
const FAIR_QUEUE = `SELECT r.id, r.at, r.turn FROM (
    SELECT s.id, s.status, s.runtime_node, s.placement_requested_at AS at,
      ROW_NUMBER() OVER (PARTITION BY s.tenant ORDER BY s.placement_requested_at, s.id) AS turn
    FROM sessions s WHERE s.placement_requested_at >= NOW(3) - INTERVAL ? SECOND OR (${WAITING})
  ) r WHERE r.status = 'creating' AND r.runtime_node IS NULL`;

/** Every status change here is one conditional UPDATE checked by affected rows (DESIGN.md §7). */
export class SessionRepository {
  private readonly repo: Repository<SessionEntity>;
  private readonly rows: EntityRows<SessionEntity>;
  /** The second, on this process's clock, of its last touch of each busy session. */
  private readonly touchedIn = new LRUCache<string, number>({ max: 10_000, ttl: 2000 });

  constructor(private readonly ds: DataSource) {
    this.repo = ds.getRepository(SessionEntity);
    this.rows = new EntityRows(ds, SessionEntity, 's');
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

  private row(s: NewSession): Record<string, unknown> {
    return {
      id: s.id,
      templateId: s.templateId,
      tenant: s.tenant,
      traceParent: s.traceParent ?? null,
      idempotencyKey: s.idempotency?.key ?? null,
      requestHash: s.idempotency?.requestHash ?? null,
      status: 'creating' as const,
      placementRequestedAt: () => 'CURRENT_TIMESTAMP(3)',
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
    const e = await this.rows.byId(id);
    return e && toSession(e);
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
    const r: { affectedRows: number } = await this.ds.query(
      `UPDATE sessions SET runtime_node = ?, container_id = ?, status = ?, last_activity_at = CURRENT_TIMESTAMP
       WHERE id = ? AND runtime_node IS NULL AND status IN (?)`,
      [node, containerId, transition.to, id, transition.from],
    );
    return r.affectedRows === 1;
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

  async transition(id: string, t: Transition<SessionStatus>, fields: { error?: string | null; errorCode?: SessionErrorCode } = {}): Promise<boolean> {
    const ends = !isSessionLive(t.to);
    const r = await this.repo
      .createQueryBuilder()
      .update()
      .set({
        status: t.to,
        ...(fields.error !== undefined ? { error: fields.error } : {}),
        ...(fields.errorCode !== undefined ? { errorCode: fields.errorCode } : {}),
        ...(ends ? { completedAt: () => 'CURRENT_TIMESTAMP' } : {}),
      })
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

  /**
   * Records activity now. The column holds whole seconds and only moves forward, so a second touch
   * within the second of one this process made changes nothing and is not sent: a busy session costs
   * a statement a second, not one per execution.
   */
  async touch(id: string): Promise<void> {
    const second = Math.floor(Date.now() / 1000);
    if (this.touchedIn.get(id) === second) return;
    await this.repo.update({ id }, { lastActivityAt: () => 'CURRENT_TIMESTAMP' });
    this.touchedIn.set(id, second);
  }

  /**
   * Activity from the client on a live session (a keep-alive), with a new idle timeout if one is given:
   * it then runs from now. False when the session has ended (nothing changed).
   */
  async keepAlive(id: string, timeout?: number): Promise<boolean> {
    const result = await this.repo
      .createQueryBuilder()
      .update()
      .set({ lastActivityAt: () => 'CURRENT_TIMESTAMP', ...(timeout === undefined ? {} : { timeout }) })
      .where(`id = :id AND status IN (${LIVE_SESSIONS})`, { id })
      .execute();
    return (result.affected ?? 0) > 0;
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

  /** The next waiting sessions in the placement queue's fair order (over a window of `window` seconds). */
  async waitingInFairOrder(limit: number, window: number): Promise<Session[]> {
    const rows: Record<string, unknown>[] = await this.ds.query(
      `SELECT ${this.rows.select} FROM (${FAIR_QUEUE}) q JOIN ${this.rows.table} ON s.id = q.id ORDER BY q.turn, q.at, q.id LIMIT ?`,
      [window, limit],
    );
    return rows.map((r) => toSession(this.rows.entity(r)));
  }

  /** Fails a session still waiting for a node (one that a node bound meanwhile is not touched); true when failed. */
  async failWaiting(id: string, t: Transition<SessionStatus>, error: string, errorCode: SessionErrorCode): Promise<boolean> {
    const r: { affectedRows: number } = await this.ds.query(
      `UPDATE sessions s SET s.status = ?, s.error = ?, s.error_code = ?, s.completed_at = CURRENT_TIMESTAMP
       WHERE s.id = ? AND ${WAITING} AND s.status IN (?)`,
      [t.to, error, errorCode, id, t.from],
    );
    return r.affectedRows === 1;
  }

  /** Where the session stands in the placement queue (fair over `window` seconds); null when it does not wait. */
  async queuePlace(id: string, window: number): Promise<QueuePlace | null> {
    const rows: { at: Date; position: string }[] = await this.ds.query(
      `WITH q AS (${FAIR_QUEUE})
       SELECT me.at, (SELECT COUNT(*) FROM q WHERE (q.turn, q.at, q.id) < (me.turn, me.at, me.id)) + 1 AS position FROM q me WHERE me.id = ?`,
      [window, id],
    );
    return rows[0] ? { position: Number(rows[0].position), waitingSince: rows[0].at } : null;
  }

  /** Sessions waiting for a node longer than `seconds` (judged on the database clock), oldest first. */
  async waitingLongerThan(seconds: number, limit: number): Promise<string[]> {
    const rows: { id: string }[] = await this.ds.query(
      `SELECT s.id FROM sessions s WHERE ${WAITING} AND s.placement_requested_at < NOW(3) - INTERVAL ? SECOND ORDER BY s.placement_requested_at LIMIT ?`,
      [seconds, limit],
    );
    return rows.map((r) => r.id);
  }

  /** The placement queue against the free capacity of the nodes that beat within `staleAfter` seconds: one query. */
  async backlog(staleAfter: number): Promise<PlacementBacklog> {
    const [r]: { waiting: string; oldest: string | null; free: string | null; nodes: string }[] = await this.ds.query(
      `SELECT w.waiting, w.oldest, n.free, n.nodes FROM
         (SELECT COUNT(*) AS waiting, TIMESTAMPDIFF(MICROSECOND, MIN(s.placement_requested_at), NOW(3)) / 1e6 AS oldest FROM sessions s WHERE ${WAITING}) w,
         (SELECT SUM(free_sessions) AS free, COUNT(*) AS nodes FROM runtime_nodes
           WHERE status = 'online' AND last_heartbeat_at >= NOW() - INTERVAL ? SECOND) n`,
      [staleAfter],
    );
    return { waiting: Number(r!.waiting), oldestWaitSeconds: Math.max(0, Number(r!.oldest ?? 0)), freeSessions: Number(r!.free ?? 0), nodes: Number(r!.nodes) };
  }

  /** Undoes an insert whose follow-up (the queue) failed, so no half-made session is left behind. */
  async delete(id: string): Promise<void> {
    await this.repo.delete({ id });
  }
}
