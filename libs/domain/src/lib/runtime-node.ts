export const NODE_STATUSES = ['online', 'draining', 'offline'] as const;
export type NodeStatus = (typeof NODE_STATUSES)[number];

export interface RuntimeNode {
  readonly id: string;
  readonly hostname: string;
  readonly version: string;
  readonly status: NodeStatus;
  readonly capacity: number;
  readonly running: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly lastHeartbeatAt: Date | null;
  readonly startedAt: Date;
}
