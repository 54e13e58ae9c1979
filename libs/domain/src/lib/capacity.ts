/**
 * Why a session failed, for machines (its `error` says it to people): no node had room within the
 * placement timeout (`no_capacity`), its template's image is not on the node (`image_missing`), its
 * container could not be started even after retries (`start_failed`), its template is gone
 * (`template_missing`).
 */
export const SESSION_ERROR_CODES = ['no_capacity', 'image_missing', 'start_failed', 'template_missing'] as const;
export type SessionErrorCode = (typeof SESSION_ERROR_CODES)[number];

/** What a sandbox holds of its node's budget. */
export interface Footprint {
  readonly memoryBytes: number;
  readonly cpuNanos: number;
}

/** A node's allocatable budget and what of it is free, as it reports it to runtime_nodes. */
export interface NodeCapacity {
  readonly memoryBytes: number;
  readonly cpuNanos: number;
  readonly freeMemoryBytes: number;
  readonly freeCpuNanos: number;
  /** Sessions of the default size that still fit (memory, CPU and the session count). */
  readonly freeSessions: number;
}

/** The placement queue as the door sees it: one read of the database. */
export interface PlacementBacklog {
  /** Sessions waiting for a node. */
  readonly waiting: number;
  /** Seconds the oldest of them has waited (0 when none waits). */
  readonly oldestWaitSeconds: number;
  /** Free sessions summed over the online nodes whose heartbeat is fresh. */
  readonly freeSessions: number;
  /** Online nodes whose heartbeat is fresh. */
  readonly nodes: number;
}

export type DoorVerdict = { readonly admit: true } | { readonly admit: false; readonly retryAfterSeconds: number; readonly reason: string };

/**
 * Whether a new session may be accepted, or the API answers 503 (`capacity_exhausted`) and stores
 * nothing. Admitted: while the free capacity holds every waiting session and this one; and, past
 * that, while the queue moves (its oldest session has waited less than half the placement timeout:
 * sessions end all the time, so a full fleet with a young queue may still place the newcomer in time).
 * Refused: no node at all, or a queue whose head has waited half the bound already, which a newcomer
 * at its tail would not get through in time. Retry-After: when the head gives up, freeing its turn.
 */
export function admitAtDoor(b: PlacementBacklog, placementTimeoutSeconds: number): DoorVerdict {
  if (b.nodes === 0) return { admit: false, retryAfterSeconds: Math.max(1, Math.ceil(placementTimeoutSeconds / 2)), reason: 'no runtime node is online' };
  if (b.waiting < b.freeSessions) return { admit: true };
  if (b.waiting === 0 || b.oldestWaitSeconds < placementTimeoutSeconds / 2) return { admit: true };
  return {
    admit: false,
    retryAfterSeconds: Math.max(1, Math.ceil(placementTimeoutSeconds - b.oldestWaitSeconds)),
    reason: `${b.waiting} sessions wait for a node (the oldest for ${Math.floor(b.oldestWaitSeconds)} s) and the fleet has room for ${b.freeSessions} more`,
  };
}
