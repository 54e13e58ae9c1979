import { type ContextState, type Footprint, type Language, type ReportedResult, type RunEnd, type RuntimeVersion, type ScannedEntry } from '@sandbox/domain';

/** Everything the runtime needs to start one hardened sandbox (DESIGN.md §4). */
export interface SandboxSpec {
  readonly image: string;
  readonly templateId: string;
  readonly nodeId: string;
  /** Set when the container is made for one session (cold start); warm pool containers have none. */
  readonly sessionId?: string;
  readonly nanoCpus: number;
  readonly memoryBytes: number;
  /** Size of the workspace tmpfs. */
  readonly diskBytes: number;
  /** Files and directories the workspace may hold. */
  readonly inodes: number;
  readonly tmpBytes: number;
  readonly pidsLimit: number;
  readonly nofile: number;
  readonly fsizeBytes: number;
  /** Outbound network through the filtered egress network; none at all otherwise. */
  readonly network: boolean;
}

export interface RunRequest {
  /** Unique per run; the executor echoes it. */
  readonly id: string;
  readonly language: Language;
  readonly code: string;
  /** Text, or bytes (sent as base64: binary input arrives exactly). */
  readonly stdin?: string | Uint8Array | null;
  readonly env?: Readonly<Record<string, string>>;
  /** argv after the program. */
  readonly args?: readonly string[];
  readonly timeoutMs: number;
  readonly maxOutputBytes: number;
  /**
   * The run may go on until then (the host's CLOCK_MONOTONIC, ms): past it, and until a later `lease`,
   * the executor stops every process of the run (SIGSTOP), and that time does not count against its
   * wall-time limit. The agent's fence deadline: a hung or cut-off agent's runs stop on their own.
   */
  readonly leaseUntilMs?: number;
  /**
   * Hears the output while the run goes on, in order, never more than `maxOutputBytes` of a stream:
   * the bytes the report then holds.
   */
  readonly onOutput?: (stream: 'stdout' | 'stderr', chunk: Buffer) => void;
  /** Run as a cell of this interpreter context (started, or restarted for a newer generation, as needed). */
  readonly context?: { readonly id: string; readonly generation: number };
  /**
   * Test cases: the program runs once per case (C and C++ compiled once before them), each with its
   * own input, arguments and wall-time limit, isolated from the others; `timeoutMs` is the compile's.
   */
  readonly cases?: readonly RunCase[];
  /** The time all cases may take together: the cases past it do not run. */
  readonly casesBudgetMs?: number;
  /** Hears each case's end as it comes, in order (with `cases`). */
  readonly onCase?: (index: number, report: CaseReport) => void;
  /** Scan the workspace after the run, listing at most this many entries (the report's `scan`). */
  readonly scan?: number;
}

export interface RunCase {
  readonly stdin: string | Uint8Array;
  readonly args: readonly string[];
  readonly timeoutMs: number;
}

/** One run of a program as the executor reported it, parsed and bounded; untrusted beyond that. */
export interface CaseReport extends RunEnd {
  readonly stdout: Buffer;
  readonly stderr: Buffer;
  readonly stdoutBytes: number;
  readonly stderrBytes: number;
  readonly cpuMs: number;
  readonly maxRssKb: number;
}

/** How a C or C++ program's compile ended; what the compiler said (capped). */
export interface CompileReport {
  readonly exitCode: number | null;
  readonly signal: number | null;
  readonly timedOut: boolean;
  readonly oomKilled: boolean;
  readonly output: Buffer;
  readonly wallMs: number;
}

/** What the executor reported, parsed and bounded; untrusted beyond that. */
export interface RunReport extends CaseReport {
  /** A compiled language's compile; null for the others. */
  readonly compile: CompileReport | null;
  /** Test cases that ran (each heard by `onCase`); null without cases. */
  readonly casesRun: number | null;
  /** Rich results, every representation inline, untrusted (the program made them). */
  readonly results: readonly ReportedResult[];
  /** Why results were dropped, or null. */
  readonly resultsNote: string | null;
  /** A cell's interpreter, as the executor found and left it; null for a program. */
  readonly context: ContextState | null;
  /** The workspace as the run left it, when asked for and the executor could scan it; else null. */
  readonly scan: WorkspaceScan | null;
}

export interface ReadRequest {
  readonly path: string;
  readonly offset: number;
  readonly length: number;
}

export type ReadResult =
  | { readonly path: string; readonly data: Buffer; readonly size: number; readonly token: string; readonly eof: boolean }
  | { readonly path: string; readonly error: string };

export interface WriteRequest {
  readonly path: string;
  /** 0 truncates the file first. */
  readonly offset: number;
  readonly data: Buffer;
  /** The file's last piece: its size and token come back. */
  readonly last: boolean;
}

export interface WriteResult {
  readonly path: string;
  readonly size?: number;
  readonly token?: string;
  readonly error?: string;
}

export interface WorkspaceScan {
  readonly entries: ScannedEntry[];
  /** More entries exist than were listed. */
  readonly truncated: boolean;
  /** Regular files past the listing's limit, only counted. */
  readonly unlistedFiles: number;
  /** False when the walk gave up counting (a workspace of over a million entries). */
  readonly counted: boolean;
}

export interface FileError {
  readonly path: string;
  readonly error: string;
}

/** A running sandbox container with its executor attached. */
export interface Sandbox {
  readonly containerId: string;
  readonly templateId: string;
  /** False once the container or its executor is gone; a dead sandbox never runs anything again. */
  readonly alive: boolean;
  /** The languages its image runs and their versions (probed when the image was built); empty if it did not say. */
  readonly runtimes: readonly RuntimeVersion[];
  /** Runs one program; rejects with SandboxLostError when the container dies or stops answering. */
  run(request: RunRequest): Promise<RunReport>;
  /** Stops the interpreter of a context (deleted), if this sandbox runs one; between runs. */
  stopContext(contextId: string): Promise<void>;
  /** Asks the executor to stop the run with this id (it then reports `cancelled`). */
  cancel(runId: string): void;
  /**
   * Stops a run left by a previous agent process (found running after a restart): its reply is not
   * for this process and is dropped when it comes.
   */
  stopLeftover(runId: string): void;
  /** Extends the lease of the run in progress, if any (see RunRequest.leaseUntilMs). */
  lease(untilMs: number): void;
  /**
   * Freezes every process of the sandbox (cgroup freezer) until `thaw`: the node cannot tell whether
   * it still owns its work. While frozen, the time a request may take stands still.
   */
  freeze(): Promise<void>;
  thaw(): Promise<void>;
  /** Resolves when the executor answers; rejects when it does not within the time. */
  ping(timeoutMs: number): Promise<void>;
  /** Called once, when the sandbox dies (not when it is detached). */
  onLost(listener: (reason: string) => void): void;
  /** Stops talking to the container without touching it (agent shutdown: it may be re-attached). */
  detach(): void;

  // Workspace files, between runs only. Paths are relative to /workspace; no symlink is followed.
  /** Every entry of the workspace, at most `limit` listed, the files past it counted. */
  scan(limit: number): Promise<WorkspaceScan>;
  /** Pieces of files, at most MAX_IO_BYTES of data in all; a file that cannot be read has an `error`. */
  read(files: readonly ReadRequest[]): Promise<ReadResult[]>;
  /** Writes pieces of files (parents made as needed), at most MAX_IO_BYTES of data in all. */
  write(files: readonly WriteRequest[]): Promise<WriteResult[]>;
  /** Deletes files; missing ones are not an error. */
  remove(paths: readonly string[]): Promise<FileError[]>;
  /** Empties the workspace. */
  wipe(): Promise<FileError[]>;
}

export interface SandboxInfo {
  readonly containerId: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly running: boolean;
  /** Seconds since the epoch. */
  readonly createdAt: number;
}

/** The container engine behind the agent: Docker now, Kubernetes later (DESIGN.md §1). */
export interface ContainerRuntime {
  create(spec: SandboxSpec): Promise<Sandbox>;
  /** Attaches to a sandbox that outlived an agent restart; rejects when its executor does not answer. */
  reattach(containerId: string, templateId: string): Promise<Sandbox>;
  /** Sandboxes of one node, found by their labels. */
  list(nodeId: string): Promise<SandboxInfo[]>;
  /** Marks a pool container as belonging to a session (best effort, for operators and reconciling). */
  assign(containerId: string, sessionId: string): Promise<void>;
  /** Removes the container and everything in it; a missing container is not an error. */
  remove(containerId: string): Promise<void>;
  /**
   * What the node can give this node id's sandboxes (their limits add up to it), when the runtime knows
   * better than the host's own figures: a Kubernetes node runs other pods too. Unset: the host's figures.
   */
  allocatable?(nodeId: string): Promise<Footprint>;
}

export class SandboxLostError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'SandboxLostError';
  }
}

export const LABELS = {
  managed: 'sandbox.managed',
  node: 'sandbox.node',
  template: 'sandbox.template',
  session: 'sandbox.session',
} as const;

// the engine's socket or daemon hiccuped: the same create may well work a moment later
const TRANSIENT_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOENT', 'EAGAIN', 'EAI_AGAIN']);

/**
 * What a failed `create` means: the image is not on the host (`image_missing`: retrying cannot help),
 * a failure worth another try (`transient`: the engine answered 5xx or 409, its socket failed, or the
 * executor did not come up in time), or anything else (`permanent`).
 */
export function startFailureKind(e: unknown): 'image_missing' | 'transient' | 'permanent' {
  const err = e as { statusCode?: number; code?: string; message?: string };
  if (err.statusCode === 404 && /image/i.test(err.message ?? '')) return 'image_missing';
  if ((err.statusCode !== undefined && (err.statusCode >= 500 || err.statusCode === 409)) || (err.code && TRANSIENT_CODES.has(err.code))) return 'transient';
  return e instanceof SandboxLostError ? 'transient' : 'permanent';
}
