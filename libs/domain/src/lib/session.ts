import { type SessionErrorCode } from './capacity';
import { transition } from './transition';

export const SESSION_STATUSES = ['creating', 'running', 'completed', 'failed', 'timeout', 'terminated'] as const;
export type SessionStatus = (typeof SESSION_STATUSES)[number];

export const RUNTIME_TYPES = ['docker', 'kubernetes'] as const;
export type RuntimeType = (typeof RUNTIME_TYPES)[number];

/** A live session holds (or waits for) a container and takes executions; every other status is an end. */
export const LIVE_SESSION_STATUSES: readonly SessionStatus[] = Object.freeze(['creating', 'running']);
const LIVE = LIVE_SESSION_STATUSES;

/**
 * creating|running → running: an agent bound the session to its node and a container (I1). A running
 * session is bound again after its node was lost: the reaper unbound it, the next node restores it.
 */
export const bindSession = transition<SessionStatus>('bind session', LIVE, 'running');
/** creating|running → terminated: the client ended it. */
export const terminateSession = transition<SessionStatus>('terminate session', LIVE, 'terminated');
/** creating|running → timeout: idle past its timeout. */
export const expireSession = transition<SessionStatus>('expire session', LIVE, 'timeout');
/** creating|running → failed: the platform could not give it a container. */
export const failSession = transition<SessionStatus>('fail session', LIVE, 'failed');

/** A session no node holds yet, in the placement queue. */
export function isWaitingForPlacement(s: Pick<Session, 'status' | 'runtimeNode' | 'placementRequestedAt'>): boolean {
  return s.status === 'creating' && s.runtimeNode === null && s.placementRequestedAt !== null;
}

export function isSessionLive(status: SessionStatus): boolean {
  return LIVE.includes(status);
}

/** The status a session runs executions in: bound to a node with a container. */
export const BOUND_SESSION_STATUS: SessionStatus = bindSession.to;

export interface SessionResources {
  readonly cpu: string | null;
  readonly memory: string | null;
  readonly disk: string | null;
}

export interface Session {
  readonly id: string;
  readonly templateId: string;
  /** Owner: only its keys (and admin keys) see the session, its executions and files. */
  readonly tenant: string;
  /** W3C traceparent of the request that created it. */
  readonly traceParent: string | null;
  readonly status: SessionStatus;
  readonly runtimeType: RuntimeType;
  readonly runtimeNode: string | null;
  readonly containerId: string | null;
  readonly podName: string | null;
  readonly workspacePath: string | null;
  /** Bumped by every change of the stored workspace; 0 while nothing was ever stored. */
  readonly workspaceVersion: number;
  readonly resources: SessionResources;
  readonly envVars: Readonly<Record<string, string>>;
  /** Idle timeout, seconds. */
  readonly timeout: number;
  readonly error: string | null;
  readonly errorCode: SessionErrorCode | null;
  /** When it asked for a node (it waits while `creating` with no node). */
  readonly placementRequestedAt: Date | null;
  readonly lastActivityAt: Date;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly completedAt: Date | null;
}
