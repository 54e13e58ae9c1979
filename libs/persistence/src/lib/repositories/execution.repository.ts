import { type Artifact, type Execution, type ExecutionStatus, type SkippedArtifacts, startExecution, type Transition } from '@sandbox/domain';
import { type DataSource, In, type Repository } from 'typeorm';
import { ExecutionEntity } from '../entities/execution.entity';
import { toExecution } from '../mappers';
import { type Page, type PageQuery } from '../page';

export type NewExecution = Pick<Execution, 'id' | 'sessionId' | 'code' | 'language' | 'stdin' | 'timeout' | 'collect'>;

export interface ExecutionResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly stdoutTruncated: boolean;
  readonly stderrTruncated: boolean;
  readonly exitCode: number | null;
  /** seconds */
  readonly executionTime: number | null;
  readonly error: string | null;
  readonly artifacts?: readonly Artifact[] | null;
  readonly collected?: readonly Artifact[] | null;
  readonly skippedArtifacts?: SkippedArtifacts | null;
}

/** The identity of one attempt: every write of an agent is fenced by it (DESIGN.md §7). */
export interface AttemptFence {
  readonly id: string;
  readonly attempt: number;
  readonly node: string;
}

export class ExecutionRepository {
  private readonly repo: Repository<ExecutionEntity>;

  constructor(private readonly ds: DataSource) {
    this.repo = ds.getRepository(ExecutionEntity);
  }

  async insert(e: NewExecution): Promise<void> {
    await this.repo.insert({ ...e, collect: e.collect ? [...e.collect] : null, status: 'pending', attempt: 1, retryCount: 0 });
  }

  async findById(id: string): Promise<Execution | null> {
    const e = await this.repo.findOneBy({ id });
    return e ? toExecution(e) : null;
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
   * The SELECT only proposes; one conditional UPDATE decides, and it also requires the session to be
   * live and bound to this node, so a node that lost the session (declared dead, then woke up) can
   * never start its work. A racing claimer gets null.
   */
  async claimNext(sessionId: string, node: string): Promise<Execution | null> {
    const next = await this.repo.findOne({
      where: { sessionId, status: 'pending' },
      order: { id: 'ASC' },
      select: { id: true, attempt: true },
    });
    if (!next) return null;
    const [from] = startExecution.from;
    const r: { affectedRows: number } = await this.ds.query(
      `UPDATE executions e JOIN sessions s ON s.id = e.session_id
       SET e.status = ?, e.runtime_node = ?, e.started_at = CURRENT_TIMESTAMP(3), e.last_heartbeat_at = CURRENT_TIMESTAMP
       WHERE e.id = ? AND e.attempt = ? AND e.status = ? AND s.runtime_node = ? AND s.status = 'running'`,
      [startExecution.to, node, next.id, next.attempt, from, node],
    );
    if (r.affectedRows !== 1) return null;
    return this.findById(next.id);
  }

  /** The one terminal write of an attempt; false when the attempt was fenced out (retried or ended elsewhere). */
  async finish(fence: AttemptFence, t: Transition<ExecutionStatus>, result: ExecutionResult): Promise<boolean> {
    const r = await this.repo
      .createQueryBuilder()
      .update()
      .set({
        status: t.to,
        stdout: result.stdout,
        stderr: result.stderr,
        stdoutTruncated: result.stdoutTruncated,
        stderrTruncated: result.stderrTruncated,
        exitCode: result.exitCode,
        executionTime: result.executionTime,
        error: result.error,
        ...(result.artifacts !== undefined ? { artifacts: result.artifacts as Artifact[] | null } : {}),
        ...(result.collected !== undefined ? { collected: result.collected as Artifact[] | null } : {}),
        ...(result.skippedArtifacts !== undefined ? { skippedArtifacts: result.skippedArtifacts } : {}),
        completedAt: () => 'CURRENT_TIMESTAMP',
      })
      .where('id = :id AND attempt = :attempt AND runtime_node = :node AND status IN (:...from)', { ...fence, from: t.from })
      .execute();
    return r.affected === 1;
  }

  /** Ends executions that never started (their session ended or could not be placed). */
  async failPending(sessionId: string, error: string): Promise<number> {
    const r = await this.repo
      .createQueryBuilder()
      .update()
      .set({ status: 'failed', error, completedAt: () => 'CURRENT_TIMESTAMP' })
      .where("session_id = :sessionId AND status = 'pending'", { sessionId })
      .execute();
    return r.affected ?? 0;
  }

  /** One batched heartbeat per node per beat (DESIGN.md §7), only for attempts this node still owns. */
  async heartbeat(node: string, fences: readonly AttemptFence[]): Promise<void> {
    if (!fences.length) return;
    await this.repo
      .createQueryBuilder()
      .update()
      .set({ lastHeartbeatAt: () => 'CURRENT_TIMESTAMP' })
      .where({ id: In(fences.map((f) => f.id)) })
      .andWhere("status = 'running' AND runtime_node = :node", { node })
      .execute();
  }

  async delete(id: string): Promise<void> {
    await this.repo.delete({ id });
  }
}
