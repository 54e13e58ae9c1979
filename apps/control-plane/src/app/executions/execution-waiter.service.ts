import { type BeforeApplicationShutdown, Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { type Execution, isExecutionTerminal } from '@sandbox/domain';
import { ExecutionRepository } from '@sandbox/persistence';
import { ExecutionEventsListener, WakeUps } from '@sandbox/queue';
import { LRUCache } from 'lru-cache';
import { CONTROL_PLANE_CONFIG, type ControlPlaneConfig } from '../control-plane.config';

/**
 * `?wait=true`: resolves when an execution is terminal. Agents announce terminal writes through a
 * BullMQ QueueEvents stream; the database is re-read on every event for that execution and every
 * WAIT_POLL_MS anyway, so a missed event (Redis restarted, stream trimmed) costs latency, never an
 * answer. The wait starts from the row its caller just read: ends announced in the meantime are
 * remembered a while, so that row is trusted only when none was.
 */
@Injectable()
export class ExecutionWaiterService implements OnModuleInit, BeforeApplicationShutdown, OnModuleDestroy {
  private readonly finished = new WakeUps();
  /** Executions announced ended lately; past its bounds a missed end costs WAIT_POLL_MS, never an answer. */
  private readonly ended = new LRUCache<string, true>({ max: 10_000, ttl: 60_000 });
  private listener: ExecutionEventsListener | null = null;
  /** Aborted at shutdown: every wait answers at once with the execution as it is (202), none is cut off. */
  private readonly shutdown = new AbortController();

  constructor(
    @Inject(CONTROL_PLANE_CONFIG) private readonly config: ControlPlaneConfig,
    private readonly executions: ExecutionRepository,
  ) {}

  onModuleInit(): void {
    this.listener = new ExecutionEventsListener({ redisUrl: this.config.REDIS_URL, prefix: this.config.QUEUE_PREFIX }, (e) => {
      this.ended.set(e.execution_id, true);
      this.finished.wake(e.execution_id);
    });
  }

  /** Aborted when this control plane shuts down. */
  get stopping(): AbortSignal {
    return this.shutdown.signal;
  }

  beforeApplicationShutdown(): void {
    this.shutdown.abort();
  }

  async onModuleDestroy(): Promise<void> {
    await this.listener?.close();
  }

  /**
   * The execution once terminal, or as it is when `waitMs` runs out or `signal` aborts (client gone).
   * `read` is the row as the caller just read it, or the id of one it just inserted `pending` and did
   * not read back: no database read for it until it may have ended.
   */
  async waitForTerminal(read: Execution | string, waitMs: number, clientGone?: AbortSignal): Promise<Execution> {
    const id = typeof read === 'string' ? read : read.id;
    const deadline = Date.now() + waitMs;
    const signal = clientGone ? AbortSignal.any([clientGone, this.shutdown.signal]) : this.shutdown.signal;
    const gone = aborted(signal);
    let known: Execution | string | null = read;
    for (;;) {
      // listen before reading, so an event between the read and the wait is not lost
      const woken = this.finishedEvent(id);
      try {
        const left = deadline - Date.now();
        const over = left <= 0 || signal.aborted;
        const trusted = this.ended.has(id) ? null : known;
        known = null;
        if (typeof trusted !== 'string' || over) {
          const execution = trusted && typeof trusted !== 'string' ? trusted : await this.executions.findById(id);
          if (!execution) throw new Error(`execution ${id} vanished`);
          if (isExecutionTerminal(execution.status) || over) return execution;
        }
        await Promise.race([woken.promise, sleep(Math.min(left, this.config.WAIT_POLL_MS)), gone]);
      } finally {
        woken.cancel();
      }
    }
  }

  /** Resolves when an agent (or the reaper) announces the execution's end; `cancel` stops listening. */
  finishedEvent(id: string): { promise: Promise<void>; cancel(): void } {
    return this.finished.next(id);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function aborted(signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => signal?.addEventListener('abort', () => resolve(), { once: true }));
}
