import { Inject, Injectable } from '@nestjs/common';
import { SessionRepository } from '@sandbox/persistence';
import { Semaphore } from 'async-mutex';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { AGENT_CONFIG, type AgentConfig } from '../agent.config';
import { NodeBudgetService } from '../capacity/node-budget.service';
import { ExecutionRunnerService } from '../executions/execution-runner.service';
import { SessionHostService } from '../sessions/session-host.service';

// every node looks at the queue this often while it takes sessions, whatever doorbells it heard:
// a lost doorbell, or room freed on another node, delays a waiting session by this much at most
const POLL_MS = 2000;
const BATCH = 20;
// containers started at once, as the shared worker's concurrency did when each doorbell placed its own session
const PARALLEL = 4;

/**
 * The placement queue is the sessions table (sessions waiting for a node, in the fair order of
 * SessionRepository.waitingInFairOrder: round-robin by tenant). This node takes the next ones that fit
 * whenever it may have room: on a place-session doorbell, when a container of its own is removed, and
 * every POLL_MS. One pass at a time; a call during a pass makes one more pass after it.
 */
@Injectable()
export class PlacementQueueService {
  private pass: Promise<void> | null = null;
  private again = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    @Inject(AGENT_CONFIG) private readonly config: AgentConfig,
    private readonly host: SessionHostService,
    private readonly runner: ExecutionRunnerService,
    private readonly sessions: SessionRepository,
    private readonly budget: NodeBudgetService,
    @InjectPinoLogger(PlacementQueueService.name) private readonly log: PinoLogger,
  ) {
    budget.onFreed(() => void this.placeWaiting());
  }

  /** Takes waiting sessions (a node that accepts sessions). */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.placeWaiting(), POLL_MS);
    void this.placeWaiting();
  }

  /** Takes none any more (drain, shutdown); resolves when the pass in flight ends. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.pass;
  }

  /** Places waiting sessions here in fair order while they fit; resolves when this node's turn is done. */
  placeWaiting(): Promise<void> {
    if (!this.timer) return Promise.resolve();
    if (this.pass) {
      this.again = true;
      return this.pass;
    }
    this.pass = (async () => {
      do {
        this.again = false;
        await this.onePass().catch((e) => this.log.warn({ err: e }, 'cannot place waiting sessions'));
      } while (this.again && this.timer);
    })().finally(() => (this.pass = null));
    return this.pass;
  }

  /**
   * First fit in fair order, PARALLEL at a time (started in the queue's order; each reserves its room
   * before its container starts): a session too large for what is left here is skipped, not blocking
   * smaller ones. Never more at once than sessions fit: placements started together race for the room,
   * and with one slot left the queue's head must get it, not whichever of them reserves first.
   */
  private async onePass(): Promise<void> {
    for (let placed = true; placed && !this.host.full && this.timer; ) {
      const batch = await this.sessions.waitingInFairOrder(BATCH, this.config.PLACEMENT_TIMEOUT_SECONDS);
      const starting = new Semaphore(Math.max(1, Math.min(PARALLEL, this.budget.snapshot().freeSessions)));
      const here = await Promise.all(
        batch.map((s) =>
          starting.runExclusive(async () => {
            if (this.host.full || !this.timer || (await this.host.place(s.id, s)).kind !== 'here') return false;
            this.runner.kick(s.id);
            return true;
          }),
        ),
      );
      // a short batch was the whole queue: a session asked for since rang its doorbell (one more pass)
      placed = here.includes(true) && batch.length === BATCH;
    }
  }
}
