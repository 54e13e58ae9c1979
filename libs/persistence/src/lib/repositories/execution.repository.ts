import {
  type Artifact,
  BOUND_SESSION_STATUS,
  cancelExecution,
  type ContextState,
  type ExecutionResults,
  crashExecution,
  failExecution,
  type Execution,
  type ExecutionAttempt,
  type ExecutionReason,
  type ExecutionStatus,
  type Session,
  type ResourceUsage,
  retryExecution,
  type SkippedArtifacts,
  startExecution,
  type TestResults,
  type Transition,
  type WaitingExecution,
  type WebhookState,
} from '@sandbox/domain';
import { type DataSource, In, type Repository } from 'typeorm';
import { ExecutionEntity } from '../entities/execution.entity';
import { SessionEntity } from '../entities/session.entity';
import { EntityRows } from '../entity-rows';
import { toExecution, toSession } from '../mappers';
import { withNamedLock } from '../named-lock';
import { type Page, type PageQuery } from '../page';
import { LIVE_SESSIONS, UNFINISHED_EXECUTIONS } from '../status-sql';
import { type Idempotency } from './session.repository';

export type NewExecution = Pick<Execution, 'id' | 'sessionId' | 'code' | 'language' | 'stdin' | 'timeout' | 'collect'> &
  Partial<Pick<Execution, 'envVars' | 'args' | 'encoding' | 'inputFiles' | 'contextId' | 'testCases' | 'compare' | 'callbackUrl' | 'webhookFormat'>> & {
  readonly idempotency?: Idempotency | null;
  readonly traceParent?: string | null;
};

export interface ExecutionResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly stdoutTruncated: boolean;
  readonly stderrTruncated: boolean;
  readonly exitCode: number | null;
  /** seconds */
  readonly executionTime: number | null;
  readonly error: string | null;
  readonly reason: ExecutionReason;
  readonly usage?: ResourceUsage | null;
  readonly artifacts?: readonly Artifact[] | null;
  readonly collected?: readonly Artifact[] | null;
  readonly skippedArtifacts?: SkippedArtifacts | null;
  readonly results?: ExecutionResults | null;
  readonly contextState?: ContextState | null;
  readonly testResults?: TestResults | null;
  readonly compileOutput?: string | null;
}

/** The identity of one attempt: every write of an agent is fenced by it (DESIGN.md §7). */
export interface AttemptFence {
  readonly id: string;
  readonly attempt: number;
  readonly node: string;
  /** When the attempt started, for its entry in the history. */
  readonly startedAt?: Date | null;
}

/** A running execution whose agent is gone, as the reaper finds it. */
export interface LostExecution {
  readonly id: string;
  readonly sessionId: string;
  readonly attempt: number;
  readonly retryCount: number;
  readonly node: string | null;
  readonly startedAt: Date | null;
  /** A client asked to stop it: it ends `cancelled`, never retried. */
  readonly cancelRequested: boolean;
}

// appends one attempt (built by the caller, passed as JSON text) to the history
const appendAttempt = (entry: string) => `JSON_ARRAY_APPEND(COALESCE(attempts, JSON_ARRAY()), '$', JSON_EXTRACT(${entry}, '$'))`;

/** An execution this node just took, with its session as the claim read it. */
export type Claimed = Execution & {
  readonly session: Session;
  /** Another execution of the session waits behind it. */
  readonly morePending: boolean;
};

export class ExecutionRepository {
  private readonly repo: Repository<ExecutionEntity>;
  private readonly rows: EntityRows<ExecutionEntity>;
  private readonly sessionRows: EntityRows<SessionEntity>;

  constructor(private readonly ds: DataSource) {
    this.repo = ds.getRepository(ExecutionEntity);
    this.rows = new EntityRows(ds, ExecutionEntity, 'e');
    this.sessionRows = new EntityRows(ds, SessionEntity, 's');
  }

  /**
   * Inserts the execution unless its session already has `cap` pending ones (the session's named lock
   * makes the count and the insert one step). Null when inserted, else the pending count.
   */
  async insertWithinCap(e: NewExecution, cap: number): Promise<number | null> {
    return withNamedLock(this.ds, `sandbox.session.${e.sessionId}`, async (m) => {
      const [{ n }]: { n: number | string }[] = await m.query("SELECT COUNT(*) AS n FROM executions WHERE session_id = ? AND status = 'pending'", [e.sessionId]);
      if (Number(n) >= cap) return Number(n);
      const { idempotency, ...fields } = e;
      const insert = this.rows.insert({
        ...fields,
        collect: e.collect ? [...e.collect] : null,
        envVars: e.envVars ? { ...e.envVars } : null,
        args: e.args ? [...e.args] : null,
        inputFiles: e.inputFiles?.map((f) => ({ path: f.path, content_base64: f.contentBase64 })) ?? null,
        testCases: e.testCases ? e.testCases.map((c) => ({ ...c, args: c.args ? [...c.args] : null })) : null,
        webhookState: e.callbackUrl ? 'pending' : null,
        idempotencyKey: idempotency?.key ?? null,
        requestHash: idempotency?.requestHash ?? null,
        status: 'pending',
        attempt: 1,
        retryCount: 0,
      });
      await m.query(insert.sql, insert.params);
      return null;
    });
  }

  /** Ended executions whose webhook is not queued yet, oldest first: the reaper's outbox. */
  async pendingWebhooks(limit: number): Promise<string[]> {
    const rows: { id: string }[] = await this.ds.query(`SELECT id FROM executions WHERE webhook_state = 'pending' AND status NOT IN (${UNFINISHED_EXECUTIONS}) ORDER BY id LIMIT ?`, [limit]);
    return rows.map((r) => r.id);
  }

  /** Moves an execution's webhook from one of `from` to `to`; false when it was in none of them. */
  async moveWebhook(id: string, from: readonly WebhookState[], to: WebhookState): Promise<boolean> {
    const r: { affectedRows: number } = await this.ds.query(`UPDATE executions SET webhook_state = ? WHERE id = ? AND webhook_state IN (?)`, [to, id, from]);
    return r.affectedRows === 1;
  }

  /** Ids of a context's cells still pending or running. */
  async unfinishedCells(sessionId: string, contextId: string): Promise<string[]> {
    const rows: { id: string }[] = await this.ds.query(`SELECT id FROM executions WHERE session_id = ? AND context_id = ? AND status IN (${UNFINISHED_EXECUTIONS}) ORDER BY id`, [sessionId, contextId]);
    return rows.map((r) => r.id);
  }

  /** Ended executions created in the last `seconds` (on the database clock), by template and status. */
  async recentOutcomes(seconds: number): Promise<{ template: string; status: ExecutionStatus; n: number }[]> {
    const rows: { template_id: string; status: ExecutionStatus; n: number }[] = await this.ds.query(
      `SELECT s.template_id, e.status, COUNT(*) AS n FROM executions e JOIN sessions s ON s.id = e.session_id
       WHERE e.created_at > NOW() - INTERVAL ? SECOND AND e.status NOT IN (${UNFINISHED_EXECUTIONS})
       GROUP BY s.template_id, e.status`,
      [seconds],
    );
    return rows.map((r) => ({ template: r.template_id, status: r.status, n: Number(r.n) }));
  }

  /** The execution of a session created with this Idempotency-Key, and the hash of that request. */
  async findByIdempotencyKey(sessionId: string, key: string): Promise<{ execution: Execution; requestHash: string | null } | null> {
    const e = await this.repo.findOneBy({ sessionId, idempotencyKey: key });
    return e ? { execution: toExecution(e), requestHash: e.requestHash } : null;
  }

  async findById(id: string): Promise<Execution | null> {
    const e = await this.rows.byId(id);
    return e && toExecution(e);
  }

  async status(id: string): Promise<ExecutionStatus | null> {
    const e = await this.repo.findOne({ where: { id }, select: { id: true, status: true } });
    return e?.status ?? null;
  }

  async listBySession(sessionId: string, query: PageQuery): Promise<Page<Execution>> {
    const qb = this.repo.createQueryBuilder('e').where('e.session_id = :sessionId', { sessionId }).orderBy('e.id', 'DESC').take(query.limit + 1);
    if (query.cursor) qb.andWhere('e.id < :cursor', { cursor: query.cursor });
    const rows = await qb.getMany();
    const items = rows.slice(0, query.limit).map(toExecution);
    return { items, nextCursor: rows.length > query.limit ? items[items.length - 1]!.id : null };
  }

  /**
   * Takes the session's oldest pending execution for this node (I2: one at a time, in id order).
   * The SELECT only proposes; one conditional UPDATE decides. It also requires the session to be live
   * and bound to this node (a node that lost the session, declared dead then woken up, never starts its
   * work), and no other execution of the session to be running (an attempt this node gave up stays
   * `running` until the reaper retries it, and must then still go first). A racing claimer gets null.
   */
  async claimNext(sessionId: string, node: string): Promise<Claimed | null> {
    // the next two whole rows, their session and the database's time: whether another waits behind
    // spares the run loop a look after the run, and the row needs no read after the UPDATE, which
    // changes only what it sets (a pending row carries no cancel mark: a pending execution's cancel
    // ends it instead); the session, whose binding the UPDATE checks, is the run's (env, workspace)
    const rows: Record<string, unknown>[] = await this.ds.query(
      `SELECT ${this.rows.select}, ${this.sessionRows.select}, NOW(3) AS claim_now FROM ${this.rows.table} JOIN ${this.sessionRows.table} ON s.id = e.session_id
       WHERE e.session_id = ? AND e.status = 'pending' ORDER BY e.id LIMIT 2`,
      [sessionId],
    );
    const [first, behind] = rows;
    if (!first) return null;
    const next = this.rows.entity(first);
    const now = first['claim_now'] as Date;
    const [from] = startExecution.from;
    const r: { affectedRows: number } = await this.ds.query(
      `UPDATE executions e JOIN sessions s ON s.id = e.session_id
         LEFT JOIN executions busy ON busy.session_id = e.session_id AND busy.status = 'running'
       SET e.status = ?, e.runtime_node = ?, e.started_at = ?, e.last_heartbeat_at = ?
       WHERE e.id = ? AND e.attempt = ? AND e.status = ? AND s.runtime_node = ? AND s.status = ? AND busy.id IS NULL`,
      [startExecution.to, node, now, now, next.id, next.attempt, from, node, BOUND_SESSION_STATUS],
    );
    if (r.affectedRows !== 1) return null;
    return {
      ...toExecution(next),
      status: startExecution.to,
      runtimeNode: node,
      startedAt: now,
      lastHeartbeatAt: now,
      session: toSession(this.sessionRows.entity(first)),
      morePending: behind !== undefined,
    };
  }

  /**
   * The one terminal write of an attempt, with the attempt added to the history; false when the
   * attempt was fenced out (retried or ended elsewhere).
   */
  async finish(fence: AttemptFence, t: Transition<ExecutionStatus>, result: ExecutionResult): Promise<boolean> {
    const entry: ExecutionAttempt = {
      attempt: fence.attempt,
      node: fence.node,
      started_at: fence.startedAt?.toISOString() ?? null,
      ended_at: new Date().toISOString(),
      outcome: t.to as ExecutionAttempt['outcome'],
    };
    const set = this.rows.assignments({
      status: t.to,
      stdout: result.stdout,
      stderr: result.stderr,
      stdoutTruncated: result.stdoutTruncated,
      stderrTruncated: result.stderrTruncated,
      exitCode: result.exitCode,
      executionTime: result.executionTime,
      error: result.error,
      reason: result.reason,
      usage: result.usage,
      artifacts: result.artifacts as Artifact[] | null | undefined,
      collected: result.collected as Artifact[] | null | undefined,
      skippedArtifacts: result.skippedArtifacts,
      results: result.results,
      contextState: result.contextState,
      testResults: result.testResults as TestResults | undefined,
      compileOutput: result.compileOutput,
    });
    const r: { affectedRows: number } = await this.ds.query(
      `UPDATE executions SET ${set.sql}, attempts = ${appendAttempt('?')}, completed_at = CURRENT_TIMESTAMP(3)
       WHERE id = ? AND attempt = ? AND runtime_node = ? AND status IN (?)`,
      [...set.params, JSON.stringify(entry), fence.id, fence.attempt, fence.node, t.from],
    );
    return r.affectedRows === 1;
  }

  /**
   * Running executions whose agent is gone: their own heartbeat, or their node's, is older than
   * `staleAfter` seconds on the database clock (or their node is unknown).
   */
  async lost(staleAfter: number, limit: number): Promise<LostExecution[]> {
    const rows: { id: string; session_id: string; attempt: number; retry_count: number | null; runtime_node: string | null; started_at: Date | null; cancel_requested_at: Date | null }[] =
      await this.ds.query(
        `SELECT e.id, e.session_id, e.attempt, e.retry_count, e.runtime_node, e.started_at, e.cancel_requested_at
         FROM executions e LEFT JOIN runtime_nodes n ON n.id = e.runtime_node
         WHERE e.status = 'running' AND (e.last_heartbeat_at IS NULL OR e.last_heartbeat_at < NOW(3) - INTERVAL ? SECOND
           OR n.id IS NULL OR n.last_heartbeat_at IS NULL OR n.last_heartbeat_at < NOW(3) - INTERVAL ? SECOND)
         ORDER BY e.id LIMIT ?`,
        [staleAfter, staleAfter, limit],
      );
    return rows.map((r) => ({
      id: r.id,
      sessionId: r.session_id,
      attempt: r.attempt,
      retryCount: r.retry_count ?? 0,
      node: r.runtime_node,
      startedAt: r.started_at,
      cancelRequested: r.cancel_requested_at !== null,
    }));
  }

  /**
   * The reaper's verdict on a lost attempt, fenced by that attempt: `retry` makes it pending again as
   * the next attempt (retry_count + 1), `crash` ends it `crashed`, `cancel` ends it `failed`
   * (`cancelled`: a client had asked to stop it); each records the lost attempt in the history. False
   * when the attempt finished or moved on meanwhile.
   */
  async endLostAttempt(lost: LostExecution, fate: 'retry' | 'crash' | 'cancel', error: string): Promise<boolean> {
    const entry: ExecutionAttempt = {
      attempt: lost.attempt,
      node: lost.node,
      started_at: lost.startedAt?.toISOString() ?? null,
      ended_at: new Date().toISOString(),
      outcome: 'agent_lost',
    };
    const t = { retry: retryExecution, crash: crashExecution, cancel: failExecution }[fate];
    const set =
      fate === 'retry'
        ? { status: t.to, attempt: () => 'attempt + 1', retryCount: () => 'COALESCE(retry_count, 0) + 1', runtimeNode: null, startedAt: null, lastHeartbeatAt: null }
        : { status: t.to, error, reason: fate === 'cancel' ? ('cancelled' as const) : ('agent_lost' as const), completedAt: () => 'CURRENT_TIMESTAMP(3)' };
    const r = await this.repo
      .createQueryBuilder()
      .update()
      .set({ ...set, attempts: () => appendAttempt(':entry') })
      .where('id = :id AND attempt = :attempt AND status IN (:...from)', { id: lost.id, attempt: lost.attempt, from: t.from })
      .setParameter('entry', JSON.stringify(entry))
      .execute();
    return r.affected === 1;
  }

  /**
   * The oldest pending execution of every live session that runs nothing and has waited more than
   * `minAge` seconds: its doorbell may be lost (Redis lost data, an agent died holding it).
   */
  async stalled(minAge: number, limit: number): Promise<WaitingExecution[]> {
    const rows: { id: string; session_id: string; attempt: number }[] = await this.ds.query(
      `SELECT e.id, e.session_id, e.attempt FROM executions e JOIN sessions s ON s.id = e.session_id
       WHERE e.status = 'pending' AND e.created_at < NOW() - INTERVAL ? SECOND AND s.status IN (${LIVE_SESSIONS})
         AND NOT (s.status = 'creating' AND s.runtime_node IS NULL)
         AND NOT EXISTS (SELECT 1 FROM executions r WHERE r.session_id = e.session_id AND r.status = 'running')
         AND NOT EXISTS (SELECT 1 FROM executions o WHERE o.session_id = e.session_id AND o.status = 'pending' AND o.id < e.id)
       ORDER BY e.id LIMIT ?`,
      [minAge, limit],
    );
    return rows.map((r) => ({ id: r.id, sessionId: r.session_id, attempt: r.attempt }));
  }

  /** Attempts the database says this node runs (after a restart: left by the previous process). */
  async runningOn(node: string): Promise<WaitingExecution[]> {
    const rows: { id: string; session_id: string; attempt: number }[] = await this.ds.query(
      "SELECT id, session_id, attempt FROM executions WHERE status = 'running' AND runtime_node = ?",
      [node],
    );
    return rows.map((r) => ({ id: r.id, sessionId: r.session_id, attempt: r.attempt }));
  }

  /** The oldest pending execution of each of these sessions, to ring their doorbells. */
  async oldestPending(sessionIds: readonly string[]): Promise<WaitingExecution[]> {
    if (!sessionIds.length) return [];
    const rows: { id: string; session_id: string; attempt: number }[] = await this.ds.query(
      `SELECT e.id, e.session_id, e.attempt FROM executions e
       WHERE e.session_id IN (?) AND e.status = 'pending'
         AND NOT EXISTS (SELECT 1 FROM executions o WHERE o.session_id = e.session_id AND o.status = 'pending' AND o.id < e.id)`,
      [sessionIds],
    );
    return rows.map((r) => ({ id: r.id, sessionId: r.session_id, attempt: r.attempt }));
  }

  /** Cancels pending executions whose session ended (a termination whose clean-up was lost). */
  async cancelPendingOfEndedSessions(): Promise<number> {
    const r: { affectedRows: number } = await this.ds.query(
      `UPDATE executions e JOIN sessions s ON s.id = e.session_id
       SET e.status = ?, e.error = CONCAT('the session ended (', s.status, ') before the execution started'), e.reason = 'cancelled', e.completed_at = CURRENT_TIMESTAMP(3)
       WHERE e.status IN (?) AND s.status NOT IN (${LIVE_SESSIONS})`,
      [cancelExecution.to, cancelExecution.from],
    );
    return r.affectedRows;
  }

  /**
   * A client's cancel: a pending execution ends `failed` (`cancelled`) at once and never runs; a running
   * one is marked, for its agent to stop and the reaper never to retry. What it did: nothing when it
   * had ended already.
   */
  async cancel(id: string, error: string): Promise<'cancelled' | 'requested' | 'ended'> {
    const pending = await this.repo
      .createQueryBuilder()
      .update()
      .set({ status: cancelExecution.to, error, reason: 'cancelled', completedAt: () => 'CURRENT_TIMESTAMP(3)' })
      .where('id = :id AND status IN (:...from)', { id, from: cancelExecution.from })
      .execute();
    if (pending.affected === 1) return 'cancelled';
    const running = await this.repo
      .createQueryBuilder()
      .update()
      .set({ cancelRequestedAt: () => 'COALESCE(cancel_requested_at, CURRENT_TIMESTAMP(3))' })
      .where("id = :id AND status = 'running'", { id })
      .execute();
    return running.affected === 1 ? 'requested' : 'ended';
  }

  /** Cancels the executions of a session that never started (it ended, or could not be placed). */
  async cancelPending(sessionId: string, error: string, reason: Extract<ExecutionReason, 'cancelled' | 'no_capacity'> = 'cancelled'): Promise<number> {
    const r = await this.repo
      .createQueryBuilder()
      .update()
      .set({ status: cancelExecution.to, error, reason, completedAt: () => 'CURRENT_TIMESTAMP(3)' })
      .where('session_id = :sessionId AND status IN (:...from)', { sessionId, from: cancelExecution.from })
      .execute();
    return r.affected ?? 0;
  }

  /** One batched heartbeat per node per beat (DESIGN.md §7), only for attempts this node still owns. */
  async heartbeat(node: string, fences: readonly AttemptFence[]): Promise<void> {
    if (!fences.length) return;
    await this.repo
      .createQueryBuilder()
      .update()
      .set({ lastHeartbeatAt: () => 'CURRENT_TIMESTAMP(3)' })
      .where({ id: In(fences.map((f) => f.id)) })
      .andWhere("status = 'running' AND runtime_node = :node", { node })
      .execute();
  }

  async delete(id: string): Promise<void> {
    await this.repo.delete({ id });
  }
}
