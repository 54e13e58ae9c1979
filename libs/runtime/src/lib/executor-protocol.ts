import { z } from 'zod';
import { isLanguage, type RuntimeVersion } from '@sandbox/domain';
import { type CaseReport, type RunReport, type RunRequest, type WorkspaceScan } from './container-runtime';

/**
 * The JSON-lines protocol of the in-sandbox executor (docker/sandbox/executor/executor.py).
 * Replies come from a process user code can reach, so every one is parsed and bounded here.
 */
const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const MIME = /^[a-z]+\/[A-Za-z0-9.+_-]+$/;
const b64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/);

/** The protocol this client speaks (the executor's PROTOCOL_VERSION). */
export const EXECUTOR_PROTOCOL_VERSION = 4;

// what the image carries, probed when it was built (read by the executor before any program ran)
const runtimes = z
  .array(z.object({ language: z.string().max(16), version: z.string().max(64), runtime: z.string().max(64) }))
  .max(16)
  .optional();
// `isolated`: programs run under another uid than the executor and init, out of the channel's reach
const ready = z.object({ op: z.literal('ready'), version: z.number().int(), pid: z.number().int(), isolated: z.boolean().optional(), runtimes });
const pong = z.object({ op: z.literal('pong'), id: z.string().nullable(), version: z.number().int().optional(), isolated: z.boolean().optional(), runtimes });
const programEnd = {
  id: z.string(),
  exit_code: z.number().int().min(0).max(255).nullable(),
  signal: z.number().int().min(1).max(64).nullable(),
  timed_out: z.boolean(),
  cancelled: z.boolean(),
  output_limited: z.boolean(),
  stdout: b64,
  stderr: b64,
  stdout_bytes: count,
  stderr_bytes: count,
  wall_ms: z.number().min(0),
  cpu_ms: z.number().min(0),
  max_rss_kb: count,
  oom_kills: count,
  pids_limited: count,
  error: z.null(),
};
// a test case's end, as it comes
const caseEnd = z.object({ op: z.literal('case'), index: count, ...programEnd });
const compiled = z.object({
  exit_code: z.number().int().min(0).max(255).nullable(),
  signal: z.number().int().min(1).max(64).nullable(),
  timed_out: z.boolean(),
  cancelled: z.boolean(),
  oom_kills: count,
  wall_ms: z.number().min(0),
  cpu_ms: z.number().min(0),
  // the executor's COMPILE_OUTPUT_BYTES (64 KiB) and a line of its own
  output: b64.max(4 * Math.ceil((65536 + 4096) / 3)),
});
const path = z.string().max(8192);
const token = z.string().max(128);
const workspaceScan = z.object({
  entries: z.array(z.tuple([path, z.enum(['f', 'd', 'l', 'o', 'n']), count, token])),
  truncated: z.boolean(),
  unlisted_files: count,
  counted: z.boolean(),
});
const result = z.object({
  op: z.literal('result'),
  ...programEnd,
  compile: compiled.nullable().optional(),
  cases_run: count.optional(),
  // rich results (Python programs, and cells): at most MAX_RESULTS_BYTES as JSON
  results: z.array(z.object({ data: z.record(z.string().regex(MIME).max(128), z.string()), main: z.boolean() })).max(10_000).optional(),
  results_note: z.string().max(4096).nullable().optional(),
  // a cell's interpreter: why a fresh one ran it, why it is gone after it
  context: z.object({ started: z.string().max(256).nullable(), reset: z.string().max(256).nullable() }).nullable().optional(),
  // the workspace after the run, when the request asked for it
  scan: workspaceScan.optional(),
});
// a streamed run's output as it comes: at most the executor's FLUSH_BYTES (32 KiB) a piece
const output = z.object({ op: z.literal('output'), id: z.string(), stream: z.enum(['stdout', 'stderr']), data: b64.max(4 * Math.ceil(32768 / 3)) });
const failure = z.object({ op: z.enum(['result', 'error']), id: z.string().nullable().optional(), error: z.string().max(4096) });

const fileError = z.object({ path: path.nullable(), error: z.string().max(4096) });
const scanned = z.object({ op: z.literal('scanned'), id: z.string(), ...workspaceScan.shape });
const data = z.object({
  op: z.literal('data'),
  id: z.string(),
  files: z.array(z.union([z.object({ path, data: b64, size: count, token, eof: z.boolean() }), fileError])),
});
const wrote = z.object({
  op: z.literal('wrote'),
  id: z.string(),
  files: z.array(z.union([fileError, z.object({ path, size: count.optional(), token: token.optional() })])),
});
const removed = z.object({ op: z.literal('removed'), id: z.string(), errors: z.array(z.object({ path, error: z.string().max(4096) })) });
const contextStopped = z.object({ op: z.literal('context_stopped'), id: z.string(), existed: z.boolean() });

// the frequent replies first: a union tries its members in order, and a miss on `result` costs its checks
export const executorReply = z.union([output, caseEnd, result, ready, pong, failure, scanned, data, wrote, removed, contextStopped]);
export type ExecutorReply = z.infer<typeof executorReply>;

/** Data moved by one read or write request (the executor's MAX_IO_BYTES). */
export const MAX_IO_BYTES = 4 << 20;
/** Longest reply line to a request that moves up to `bytes` of file data, or lists `entries` paths. */
export const maxIoReplyBytes = (bytes: number, entries = 0): number => Math.ceil((bytes * 4) / 3) + entries * 4400 + 256 * 1024;

/**
 * Why an executor that introduced itself (its `ready` or `pong`) must not be used, or null when it may:
 * another protocol, or programs that would run as the executor's own uid and could write forged
 * replies into the channel (an image built before the isolation, or a container not started as root).
 */
/** The image's languages as its executor said them, those of a language this platform runs. */
export function imageRuntimes(hello: { runtimes?: { language: string; version: string; runtime: string }[] | undefined }): RuntimeVersion[] {
  return (hello.runtimes ?? []).flatMap((r) => (isLanguage(r.language) ? [{ language: r.language, version: r.version, runtime: r.runtime }] : []));
}

export function executorRefusal(hello: { version?: number | undefined; isolated?: boolean | undefined }): string | null {
  if (hello.version !== EXECUTOR_PROTOCOL_VERSION) {
    return `the sandbox executor speaks protocol version ${hello.version ?? 'unknown'}, this agent ${EXECUTOR_PROTOCOL_VERSION}: rebuild the sandbox images (tools/images-build.sh) for this agent version`;
  }
  if (hello.isolated !== true) {
    return 'the sandbox executor does not run programs under a uid of their own, so they could forge its replies: rebuild the sandbox images (tools/images-build.sh) and start the container as root with the executor capabilities';
  }
  return null;
}

export class ExecutorFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExecutorFailure';
  }
}

/** Rich results of one run, as JSON (the executor's MAX_RESULTS_BYTES). */
export const MAX_RESULTS_BYTES = 16 << 20;

/** Longest reply line accepted for a run: two base64 streams, the results, the scan asked for, the envelope. */
export function maxReplyBytes(maxOutputBytes: number, scanEntries?: number): number {
  return Math.ceil((maxOutputBytes * 2 * 4) / 3) + MAX_RESULTS_BYTES + 64 * 1024 + (scanEntries === undefined ? 0 : maxIoReplyBytes(0, scanEntries));
}

export function encodeRun(req: RunRequest): string {
  return `${JSON.stringify({
    op: 'run',
    id: req.id,
    language: req.language,
    code: req.code,
    ...(req.stdin instanceof Uint8Array ? { stdin_base64: Buffer.from(req.stdin).toString('base64') } : { stdin: req.stdin ?? '' }),
    env: req.env ?? {},
    ...(req.args?.length ? { args: req.args } : {}),
    timeout_ms: req.timeoutMs,
    max_output_bytes: req.maxOutputBytes,
    cwd: '/workspace',
    ...(req.leaseUntilMs === undefined ? {} : { lease_until_ms: Math.floor(req.leaseUntilMs) }),
    ...(req.onOutput ? { stream: true } : {}),
    ...(req.context ? { context: { id: req.context.id, generation: req.context.generation } } : {}),
    ...(req.cases ? { cases: req.cases.map(encodeCase), ...(req.casesBudgetMs ? { cases_budget_ms: req.casesBudgetMs } : {}) } : {}),
    ...(req.scan === undefined ? {} : { scan: req.scan }),
  })}\n`;
}

function encodeCase(c: NonNullable<RunRequest['cases']>[number]): object {
  return {
    ...(c.stdin instanceof Uint8Array ? { stdin_base64: Buffer.from(c.stdin).toString('base64') } : { stdin: c.stdin }),
    ...(c.args.length ? { args: c.args } : {}),
    timeout_ms: c.timeoutMs,
  };
}

/** Longest a run may take before the client gives up on its executor: the compile, every case, slack. */
export function runBudgetMs(req: Pick<RunRequest, 'timeoutMs' | 'cases' | 'casesBudgetMs'>, graceMs: number): number {
  const cases = req.cases ?? [];
  // killing what a case left and putting its files back: milliseconds, unless the sandbox is starved
  const perCase = 250;
  const limits = cases.reduce((sum, c) => sum + c.timeoutMs, 0);
  return req.timeoutMs + graceMs + Math.min(limits, req.casesBudgetMs ?? limits) + cases.length * perCase;
}

export function toRunReport(reply: z.infer<typeof result>, maxOutputBytes: number): RunReport {
  const build = reply.compile;
  return {
    ...toCaseReport(reply, maxOutputBytes),
    results: reply.results ?? [],
    resultsNote: reply.results_note ?? null,
    context: reply.context ?? null,
    compile: build
      ? { exitCode: build.exit_code, signal: build.signal, timedOut: build.timed_out, oomKilled: build.oom_kills > 0, output: Buffer.from(build.output, 'base64'), wallMs: build.wall_ms }
      : null,
    casesRun: reply.cases_run ?? null,
    scan: reply.scan ? toWorkspaceScan(reply.scan) : null,
  };
}

const KINDS = { f: 'file', d: 'dir', l: 'symlink', o: 'other', n: 'name' } as const;

export function toWorkspaceScan(reply: z.infer<typeof workspaceScan>): WorkspaceScan {
  return {
    entries: reply.entries.map(([path, kind, size, token]) => ({ path, kind: KINDS[kind], size, token })),
    truncated: reply.truncated,
    unlistedFiles: reply.unlisted_files,
    counted: reply.counted,
  };
}

export function toCaseReport(reply: z.infer<typeof caseEnd> | z.infer<typeof result>, maxOutputBytes: number): CaseReport {
  const stdout = Buffer.from(reply.stdout, 'base64').subarray(0, maxOutputBytes);
  const stderr = Buffer.from(reply.stderr, 'base64').subarray(0, maxOutputBytes);
  return {
    exitCode: reply.exit_code,
    signal: reply.signal,
    timedOut: reply.timed_out,
    cancelled: reply.cancelled,
    outputLimited: reply.output_limited,
    stdout,
    stderr,
    stdoutBytes: Math.max(reply.stdout_bytes, stdout.length),
    stderrBytes: Math.max(reply.stderr_bytes, stderr.length),
    wallMs: reply.wall_ms,
    cpuMs: reply.cpu_ms,
    maxRssKb: reply.max_rss_kb,
    oomKilled: reply.oom_kills > 0,
    pidsLimited: reply.pids_limited > 0,
  };
}

export function isResult(reply: ExecutorReply): reply is z.infer<typeof result> {
  return reply.op === 'result' && 'timed_out' in reply;
}

/**
 * Splits a byte stream into lines without ever holding more than `maxLine` bytes of one line:
 * a longer line is a protocol violation (the callback gets null) rather than unbounded memory.
 */
export class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;

  constructor(
    private maxLine: number,
    private readonly onLine: (line: string | null) => void,
  ) {}

  setMaxLine(maxLine: number): void {
    this.maxLine = maxLine;
  }

  push(chunk: Buffer): void {
    let start = 0;
    for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
      const piece = chunk.subarray(start, nl);
      if (this.size + piece.length > this.maxLine) return this.overflow();
      this.parts.push(piece);
      const line = Buffer.concat(this.parts).toString('utf8');
      this.parts = [];
      this.size = 0;
      start = nl + 1;
      this.onLine(line);
    }
    const rest = chunk.subarray(start);
    if (this.size + rest.length > this.maxLine) return this.overflow();
    if (rest.length) {
      this.parts.push(Buffer.from(rest));
      this.size += rest.length;
    }
  }

  private overflow(): void {
    this.parts = [];
    this.size = 0;
    this.onLine(null);
  }
}
