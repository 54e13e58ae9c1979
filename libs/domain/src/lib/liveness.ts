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
