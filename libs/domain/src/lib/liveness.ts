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

/** What the reaper does with a running execution whose agent was lost. */
export function lostExecutionFate(retryCount: number, maxRetries: number): 'retry' | 'crash' {
  return retryCount < maxRetries ? 'retry' : 'crash';
}

/**
 * A node's own deadline for being cut off (DESIGN.md §8, fence before you can be declared lost): past
 * STALE_AFTER_SECONDS without a heartbeat getting through, the reaper may give its work to another
 * node, so it must stop that work itself. Measured on the node's monotonic clock.
 */
export class FenceDeadline {
  private lastBeat: number;

  constructor(
    private readonly clock: Clock,
    private readonly staleAfterSeconds: number,
  ) {
    this.lastBeat = clock.monotonic();
  }

  /** A heartbeat got through: the deadline moves on. */
  beatGotThrough(): void {
    this.lastBeat = this.clock.monotonic();
  }

  /** True once no heartbeat got through for the whole threshold. */
  passed(): boolean {
    return this.clock.monotonic() - this.lastBeat >= this.staleAfterSeconds * 1000;
  }
}
