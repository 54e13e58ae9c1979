import { type Clock } from './clock';

/**
 * When a node or an execution may be declared lost (DESIGN.md §7). Ages are seconds since the last
 * heartbeat, read on the database clock. The observer can be wrong too: when every live node looks
 * stale at once, the database (or the reaper) was the one that stopped, so nothing is declared lost
 * until even the freshest heartbeat is two thresholds old; and a reaper that could not look for a
 * while must watch one full threshold before it judges anything.
 */
export interface LivenessView {
  /** Heartbeat ages of the nodes not offline, seconds. */
  readonly nodeAges: readonly number[];
  /** Seconds the reaper has been watching without a failed tick (null: it just started or recovered). */
  readonly watchingFor: number | null;
  readonly staleAfter: number;
}

export function mayDeclareLoss(v: LivenessView): boolean {
  if (v.watchingFor === null || v.watchingFor < v.staleAfter) return false;
  if (v.nodeAges.length === 0) return true;
  const freshest = Math.min(...v.nodeAges);
  return freshest < v.staleAfter || freshest >= 2 * v.staleAfter;
}

/** What the reaper does with a running execution whose agent was lost: a cancelled one is never run again. */
export function lostExecutionFate(retryCount: number, maxRetries: number, cancelRequested = false): 'retry' | 'crash' | 'cancel' {
  if (cancelRequested) return 'cancel';
  return retryCount < maxRetries ? 'retry' : 'crash';
}

/**
 * A node's own deadline for being cut off (DESIGN.md §8, fence before you can be declared lost). The
 * database stamps a heartbeat no earlier than the moment the node sent it, and the reaper declares a
 * node lost once that stamp is STALE_AFTER_SECONDS old on the database clock; so the earliest loss is
 * STALE after the send of the last beat that got through. The node stops its work `marginMs` before
 * that (time to freeze its runs, clock rate differences), on its own monotonic clock. A beat whose
 * answer never came counts for nothing, even if the database applied it.
 */
export class FenceDeadline {
  private lastSent: number;

  constructor(
    private readonly clock: Clock,
    private readonly staleAfterSeconds: number,
    private readonly marginMs: number,
  ) {
    this.lastSent = clock.monotonic();
  }

  /** A heartbeat sent at `sentAt` (monotonic ms) got through: the deadline moves on from its send. */
  beatGotThrough(sentAt: number): void {
    this.lastSent = Math.max(this.lastSent, sentAt);
  }

  /** Monotonic ms by which the node must have stopped running user code. */
  until(): number {
    return this.lastSent + this.staleAfterSeconds * 1000 - this.marginMs;
  }

  passed(): boolean {
    return this.clock.monotonic() >= this.until();
  }
}
