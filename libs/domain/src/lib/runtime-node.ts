import { type NodeCapacity } from './capacity';
import { transition } from './transition';

export const NODE_STATUSES = ['online', 'draining', 'offline'] as const;
export type NodeStatus = (typeof NODE_STATUSES)[number];

/** online → draining: an operator's drain (no new sessions; running work finishes, sessions move away). */
export const drainNode = transition<NodeStatus>('drain node', ['online'], 'draining');
/** draining → online: the drain is called off before it finished. */
export const undrainNode = transition<NodeStatus>('undrain node', ['draining'], 'online');
/** online|draining → offline: its heartbeat went stale, and the reaper declared it lost. */
export const loseNode = transition<NodeStatus>('lose node', ['online', 'draining'], 'offline');

export interface RuntimeNode {
  readonly id: string;
  readonly hostname: string;
  readonly version: string;
  readonly status: NodeStatus;
  readonly capacity: number;
  readonly running: number;
  /** Its allocatable budget and what is free of it (zeros until the agent reports them). */
  readonly budget: NodeCapacity;
  readonly labels: Readonly<Record<string, string>>;
  readonly lastHeartbeatAt: Date | null;
  readonly startedAt: Date;
}
