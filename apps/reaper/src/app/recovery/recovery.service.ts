import { Inject, Injectable } from '@nestjs/common';
import { isSessionLive, lostExecutionFate, mayDeclareLoss, type WaitingExecution } from '@sandbox/domain';
import { DatabaseClock, ExecutionRepository, RuntimeNodeRepository, SessionRepository } from '@sandbox/persistence';
import { Doorbells, ExecutionEventsPublisher, OutageGuard } from '@sandbox/queue';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { REAPER_CONFIG, type ReaperConfig } from '../reaper.config';
import { ReaperMetrics } from '../reaper.metrics';

export interface RecoveryReport {
  /** False while the outage guard holds back every loss verdict. */
  readonly judged: boolean;
  readonly nodesLost: number;
  readonly sessionsMoved: number;
  readonly retried: number;
  readonly crashed: number;
  readonly rerung: number;
  readonly pendingFailed: number;
}

/**
 * The reaper's recovery tick (the one retry owner, DESIGN.md §7), in this order:
 * 1. nodes whose heartbeat is stale → offline; their sessions unbound (placed anew by their next
 *    execution, workspace restored from the store), their queue's waiting doorbells dropped and rung
 *    again on the shared queue;
 * 2. running executions of lost agents → the next attempt (retry_count + 1), or `crashed` past MAX_RETRIES;
 * 3. pending executions that wait with nothing running in their session → their doorbell rung again
 *    (Redis lost it, or an agent died holding it), and pending ones of ended sessions → `failed`; the
 *    placement doorbell of the oldest session waiting for a node → rung again.
 * Steps 1 and 2 wait while the outage guard says the observer, not the nodes, was down.
 */
@Injectable()
export class RecoveryService {
  constructor(
    @Inject(REAPER_CONFIG) private readonly config: ReaperConfig,
    private readonly nodes: RuntimeNodeRepository,
    private readonly sessions: SessionRepository,
    private readonly executions: ExecutionRepository,
    private readonly database: DatabaseClock,
    private readonly doorbells: Doorbells,
    private readonly events: ExecutionEventsPublisher,
    private readonly guard: OutageGuard,
    private readonly metrics: ReaperMetrics,
    @InjectPinoLogger(RecoveryService.name) private readonly log: PinoLogger,
  ) {}

  async run(): Promise<RecoveryReport> {
    try {
      return await this.tick();
    } catch (e) {
      // we could not look (the database is likely down): start watching afresh once we can
      await this.guard.forget().catch((err) => this.log.warn({ err }, 'cannot reset the outage guard: Redis is down too'));
      throw e;
    }
  }

  private async tick(): Promise<RecoveryReport> {
    const staleAfter = this.config.STALE_AFTER_SECONDS;
    const batch = this.config.REAPER_BATCH;
    const watchingFor = await this.guard.watchingFor(await this.database.now());
    const live = (await this.nodes.withAges()).filter((n) => n.status !== 'offline');
    const judged = mayDeclareLoss({ nodeAges: live.map((n) => n.heartbeatAge ?? Infinity), watchingFor, staleAfter });
    let nodesLost = 0;
    let sessionsMoved = 0;
    let retried = 0;
    let crashed = 0;
    if (judged) {
      const lostNodes = await this.nodes.markLost(staleAfter);
      nodesLost = lostNodes.length;
      for (const node of lostNodes) {
        // its waiting doorbells: nobody consumes that queue now; the executions get new ones below
        await this.doorbells.dropNodeQueue(node);
        this.log.warn({ runtime_node: node }, 'node lost: no heartbeat for over STALE_AFTER_SECONDS');
      }
      const moved: string[] = [];
      for (const s of await this.sessions.onLostNodes(staleAfter, batch)) {
        if (await this.sessions.unbind(s.id, s.node)) moved.push(s.id);
      }
      sessionsMoved = moved.length;
      for (const w of await this.executions.oldestPending(moved)) await this.ring(w);
      for (const lost of await this.executions.lost(staleAfter, batch)) {
        const fate = lostExecutionFate(lost.retryCount, this.config.MAX_RETRIES, lost.cancelRequested);
        const error =
          fate === 'cancel'
            ? `cancelled by the client; its runtime agent (${lost.node ?? 'unknown'}) was lost before it stopped the run`
            : `its runtime agent (${lost.node ?? 'unknown'}) was lost on attempt ${lost.attempt}, after ${lost.retryCount} retries: not retried again`;
        if (!(await this.executions.endLostAttempt(lost, fate, error))) continue;
        const fields = { execution_id: lost.id, session_id: lost.sessionId, runtime_node: lost.node, attempt: lost.attempt };
        if (fate === 'retry') {
          retried++;
          this.log.warn(fields, 'execution lost with its agent: retrying as the next attempt');
          await this.ring({ id: lost.id, sessionId: lost.sessionId, attempt: lost.attempt + 1 });
        } else {
          const status = fate === 'cancel' ? 'failed' : 'crashed';
          if (fate === 'cancel') this.log.warn(fields, 'cancelled execution lost with its agent: ended, not retried');
          else {
            crashed++;
            this.log.error(fields, 'execution lost with its agent too often: crashed');
          }
          // best effort: a waiter that misses this re-reads the database
          await this.events.finished({ execution_id: lost.id, status }).catch((err) => this.log.warn({ ...fields, err }, 'cannot announce the end'));
        }
      }
    }
    let rerung = 0;
    for (const w of await this.executions.stalled(staleAfter, batch)) if (await this.ring(w)) rerung++;
    // one doorbell wakes a node, which then places the queue in its fair order; every node polls it too
    for (const id of await this.sessions.waitingLongerThan(staleAfter, 1)) if (await this.doorbells.placementAgain(id)) rerung++;
    const pendingFailed = await this.executions.cancelPendingOfEndedSessions();
    const report = { judged, nodesLost, sessionsMoved, retried, crashed, rerung, pendingFailed };
    this.record(report);
    return report;
  }

  /** Rings the execution's doorbell again, where its session is now; true when one was added. */
  private async ring(w: WaitingExecution): Promise<boolean> {
    const session = await this.sessions.findById(w.sessionId);
    if (!session || !isSessionLive(session.status)) return false;
    return this.doorbells.executionAgain(w, session.runtimeNode);
  }

  private record(r: RecoveryReport): void {
    this.metrics.ran('recovery');
    if (!r.judged) this.metrics.count('loss_verdict', 'held_back');
    this.metrics.count('node', 'lost', r.nodesLost);
    this.metrics.count('session', 'moved', r.sessionsMoved);
    this.metrics.count('execution', 'retried', r.retried);
    this.metrics.count('execution', 'crashed', r.crashed);
    this.metrics.count('doorbell', 'rung_again', r.rerung);
    this.metrics.count('execution', 'failed_session_ended', r.pendingFailed);
    if (r.nodesLost || r.sessionsMoved || r.retried || r.crashed || r.rerung || r.pendingFailed) {
      this.log.info(r, 'recovery tick acted');
    }
  }
}
