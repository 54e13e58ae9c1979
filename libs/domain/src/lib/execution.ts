import { type ContextState, type ExecutionResults } from './interpreter-context';
import { type ExecutionReason } from './outcome';
import { type OutputEncoding } from './output';
import { type CompareMode, type TestCase, type TestResults } from './test-cases';
import { type WebhookFormat, type WebhookState } from './webhook';
import { transition } from './transition';

export const EXECUTION_STATUSES = ['pending', 'running', 'completed', 'failed', 'timeout', 'crashed'] as const;
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];
/** Waiting for a node, or running on one: the statuses an execution leaves exactly once, for an end. */
export const UNFINISHED_EXECUTION_STATUSES = Object.freeze(['pending', 'running'] as const);
export type TerminalExecutionStatus = Exclude<ExecutionStatus, (typeof UNFINISHED_EXECUTION_STATUSES)[number]>;

/** A file an execution writes to the workspace before its run. */
export interface InputFile {
  /** Relative to the workspace (`isWorkspacePath`). */
  readonly path: string;
  readonly contentBase64: string;
}

/** The error of an execution a client cancelled (POST /v1/executions/:id/cancel); its reason is `cancelled`. */
export const CLIENT_CANCEL = 'cancelled by the client';

/** pending → running: an agent took the execution (its attempt fences every later write). */
export const startExecution = transition<ExecutionStatus>('start execution', ['pending'], 'running');
/** running → completed: the program exited by itself, whatever its exit code. */
export const completeExecution = transition<ExecutionStatus>('complete execution', ['running'], 'completed');
/** running → timeout: killed at its wall-time limit. */
export const timeOutExecution = transition<ExecutionStatus>('time out execution', ['running'], 'timeout');
/** running → failed: the platform could not run it, or a limit stopped it. */
export const failExecution = transition<ExecutionStatus>('fail execution', ['running'], 'failed');
/** pending → failed (reason `cancelled`): its session ended, or could not be placed, before it started. */
export const cancelExecution = transition<ExecutionStatus>('cancel execution', ['pending'], 'failed');
/** running → crashed: its agent vanished and retries are exhausted. */
export const crashExecution = transition<ExecutionStatus>('crash execution', ['running'], 'crashed');
/** running → pending: the reaper re-queues the next attempt after its agent was lost. */
export const retryExecution = transition<ExecutionStatus>('retry execution', ['running'], 'pending');

/** What one run used, as the sandbox measured it. */
export interface ResourceUsage {
  readonly wall_ms: number;
  readonly cpu_ms: number;
  /** Peak resident memory of the program (its largest process), bytes. */
  readonly peak_memory_bytes: number;
  /** Bytes the program wrote on each stream, kept or not. */
  readonly stdout_bytes: number;
  readonly stderr_bytes: number;
  /** The signal it died of, if it did. */
  readonly signal: string | null;
}

/** How one attempt of an execution ended: its terminal status, or lost with its agent. */
export type AttemptOutcome = TerminalExecutionStatus | 'agent_lost';

/** One attempt in an execution's history (executions.attempts). */
export interface ExecutionAttempt {
  readonly attempt: number;
  readonly node: string | null;
  readonly started_at: string | null;
  readonly ended_at: string;
  readonly outcome: AttemptOutcome;
}

/** The executor's id of one attempt's run: a reply to an earlier attempt is never taken for this one's. */
export function runIdOf(e: { readonly id: string; readonly attempt: number }): string {
  return `${e.id}-${e.attempt}`;
}

export function isExecutionTerminal(status: ExecutionStatus): status is TerminalExecutionStatus {
  return !(UNFINISHED_EXECUTION_STATUSES as readonly ExecutionStatus[]).includes(status);
}

/** An execution waiting for a node, with the attempt its doorbell carries. */
export interface WaitingExecution {
  readonly id: string;
  readonly sessionId: string;
  readonly attempt: number;
}

/** A workspace file an execution created or modified (or matched by `collect`), as stored. */
export interface Artifact {
  readonly path: string;
  readonly size: number;
  readonly mime_type: string;
  readonly sha256: string;
  /** The stored object's etag when it was written: a download checks it is still that version. */
  readonly etag?: string;
}

/** Files of a workspace that were not stored, and why; at most SKIPPED_LISTED of them are listed. */
export interface SkippedArtifacts {
  readonly count: number;
  readonly items: readonly { readonly path: string; readonly size: number | null; readonly reason: string }[];
}

export const SKIPPED_LISTED = 100;

export interface Execution {
  readonly id: string;
  readonly sessionId: string;
  /** W3C traceparent of the request that created it: the agent's spans continue that trace. */
  readonly traceParent: string | null;
  readonly code: string;
  readonly language: string;
  readonly status: ExecutionStatus;
  readonly stdin: string | null;
  /** Its own environment, over the session's (values are never returned nor logged). */
  readonly envVars: Readonly<Record<string, string>> | null;
  /** argv after the program (sys.argv[1:], process.argv.slice(2), $1…). */
  readonly args: readonly string[] | null;
  /** base64: stdin, stdout and stderr are base64 of bytes, so binary data round-trips exactly. */
  readonly encoding: OutputEncoding;
  /** Files written to the workspace before the run (and kept there, as the program's own). */
  readonly inputFiles: readonly InputFile[] | null;
  /** Glob patterns of workspace files to return with the result. */
  readonly collect: readonly string[] | null;
  /** The interpreter context it runs in as a cell, or null: a program of its own. */
  readonly contextId: string | null;
  /** Run the program once per case, each judged against its expected output; null: run it once. */
  readonly testCases: readonly TestCase[] | null;
  readonly compare: CompareMode | null;
  /** Where its result is POSTed, signed, when it ends; null: nowhere. */
  readonly callbackUrl: string | null;
  readonly webhookState: WebhookState | null;
  /** What the webhook carries; null: the platform's own (`platform`). */
  readonly webhookFormat: WebhookFormat | null;
  /** Wall-time limit, seconds. */
  readonly timeout: number;
  readonly stdout: string | null;
  readonly stderr: string | null;
  readonly stdoutTruncated: boolean;
  readonly stderrTruncated: boolean;
  readonly exitCode: number | null;
  /** Seconds the program ran. */
  readonly executionTime: number | null;
  readonly error: string | null;
  /** Why it ended (see ExecutionReason); null while it runs. */
  readonly reason: ExecutionReason | null;
  readonly usage: ResourceUsage | null;
  readonly artifacts: readonly Artifact[] | null;
  readonly collected: readonly Artifact[] | null;
  readonly skippedArtifacts: SkippedArtifacts | null;
  /** Rich results: a cell's value, what the program displayed, its figures. */
  readonly results: ExecutionResults | null;
  /** A cell's interpreter: whether a fresh one ran it, whether it is gone after it. */
  readonly contextState: ContextState | null;
  /** The verdict on each test case, and their summary. */
  readonly testResults: TestResults | null;
  /** What the compiler said (C, C++), capped; null for interpreted languages. */
  readonly compileOutput: string | null;
  readonly retryCount: number;
  readonly attempt: number;
  /** Every attempt that ended, oldest first: retried ones say `agent_lost`. */
  readonly attempts: readonly ExecutionAttempt[];
  readonly runtimeNode: string | null;
  readonly startedAt: Date | null;
  readonly lastHeartbeatAt: Date | null;
  readonly createdAt: Date;
  readonly completedAt: Date | null;
  /** A client asked to stop it while it ran: its agent stops it, the reaper never retries it. */
  readonly cancelRequestedAt: Date | null;
}
