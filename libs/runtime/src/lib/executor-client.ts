import { type Duplex, PassThrough } from 'node:stream';
import { type RuntimeVersion } from '@sandbox/domain';
import {
  type FileError,
  type ReadRequest,
  type ReadResult,
  type CaseReport,
  type RunReport,
  type RunRequest,
  type Sandbox,
  SandboxLostError,
  type WorkspaceScan,
  type WriteRequest,
  type WriteResult,
} from './container-runtime';
import {
  encodeRun,
  ExecutorFailure,
  executorRefusal,
  type ExecutorReply,
  imageRuntimes,
  executorReply,
  isResult,
  LineSplitter,
  MAX_IO_BYTES,
  maxIoReplyBytes,
  maxReplyBytes,
  runBudgetMs,
  toCaseReport,
  toRunReport,
  toWorkspaceScan,
} from './executor-protocol';

const BASE_MAX_LINE = 64 * 1024;
// a file request moves at most MAX_IO_BYTES: seconds at worst, unless the executor is stuck
const FILE_OP_TIMEOUT_MS = 60_000;

interface Pending {
  resolve(reply: ExecutorReply): void;
  reject(error: Error): void;
}

/** A run's listeners (streamed output, test cases) and what it heard so far of each stream, which never passes the cap. */
interface Listening {
  readonly onOutput?: RunRequest['onOutput'];
  readonly onCase?: RunRequest['onCase'];
  /** The next case expected: cases come once each, in order, as many as were asked at most. */
  nextCase: number;
  readonly cases: number;
  readonly cap: number;
  readonly heard: { stdout: number; stderr: number };
}

/**
 * A sandbox as seen through its executor: requests go down the attached stdin, replies come back
 * as lines on the demultiplexed stdout. One run at a time; anything odd on the wire (an unknown
 * reply, an over-long line, the stream ending) ends the sandbox: the executor parses what user code
 * wrote, and nothing it sends is trusted. An executor whose programs could reach the channel (not
 * `isolated`) or that speaks another protocol is refused at its first word.
 */
export class ExecutorClient implements Sandbox {
  private readonly waiting = new Map<string, Pending>();
  private readonly listening = new Map<string, Listening>();
  private readonly lostListeners: ((reason: string) => void)[] = [];
  private readonly splitter: LineSplitter;
  private readyWaiter: Pending | null = null;
  private lostReason: string | null = null;
  private detached = false;
  private seq = 0;
  private keepalive: NodeJS.Timeout | null = null;
  /** Longest reply line each request in flight may send. */
  private readonly lineLimits = new Map<string, number>();
  /** Runs of a previous agent process whose replies are dropped. */
  private readonly leftovers = new Set<string>();
  private frozenSince: number | null = null;
  private frozenBefore = 0;
  private pausing: Promise<void> = Promise.resolve();
  /** The image's languages and versions, from the executor's first word (its ready or a pong). */
  runtimes: readonly RuntimeVersion[] = [];

  constructor(
    readonly containerId: string,
    readonly templateId: string,
    private readonly stream: Duplex,
    demux: (stream: Duplex, stdout: PassThrough, stderr: PassThrough) => void,
    private readonly graceMs: number,
    private readonly pause: (frozen: boolean) => Promise<void>,
  ) {
    this.splitter = new LineSplitter(BASE_MAX_LINE, (line) => this.onLine(line));
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    demux(stream, stdout, stderr);
    stdout.on('data', (chunk: Buffer) => this.splitter.push(chunk));
    // the executor's own stderr is diagnostics only; drain it so the stream never stalls
    stderr.resume();
    stream.on('end', () => this.lose('sandbox container exited'));
    stream.on('close', () => this.lose('sandbox container exited'));
    stream.on('error', (e: Error) => this.lose(`sandbox stream failed: ${e.message}`));
  }

  get alive(): boolean {
    return this.lostReason === null && !this.detached;
  }

  /** Resolves on the executor's first `ready` line. */
  ready(timeoutMs: number): Promise<void> {
    return this.withTimeout(
      new Promise<ExecutorReply>((resolve, reject) => (this.readyWaiter = { resolve, reject })),
      timeoutMs,
      'sandbox executor did not start',
    ).then(() => undefined);
  }

  async run(req: RunRequest): Promise<RunReport> {
    // the executor enforces the wall time itself; this backstop only catches an executor that hangs
    const deadline = runBudgetMs(req, this.graceMs);
    if (req.onOutput || req.onCase) {
      this.listening.set(req.id, { onOutput: req.onOutput, onCase: req.onCase, nextCase: 0, cases: req.cases?.length ?? 0, cap: req.maxOutputBytes, heard: { stdout: 0, stderr: 0 } });
    }
    let answer: ExecutorReply;
    let heardCases = 0;
    try {
      answer = await this.call(req.id, encodeRun(req), maxReplyBytes(req.maxOutputBytes, req.scan), deadline);
    } finally {
      heardCases = this.listening.get(req.id)?.nextCase ?? 0;
      this.listening.delete(req.id);
    }
    if (!isResult(answer)) throw new ExecutorFailure(('error' in answer && answer.error) || 'executor sent no result');
    const report = toRunReport(answer, req.maxOutputBytes);
    if (req.cases && (report.casesRun ?? 0) !== heardCases) throw new ExecutorFailure(`the executor reported ${report.casesRun ?? 'no'} test cases run, but sent ${heardCases}`);
    return report;
  }

  async scan(limit: number): Promise<WorkspaceScan> {
    const reply = await this.fileOp('scan', { limit }, maxIoReplyBytes(0, limit));
    if (reply.op !== 'scanned') throw unexpected(reply);
    return toWorkspaceScan(reply);
  }

  async read(files: readonly ReadRequest[]): Promise<ReadResult[]> {
    const reply = await this.fileOp('read', { files }, maxIoReplyBytes(MAX_IO_BYTES, files.length));
    if (reply.op !== 'data') throw unexpected(reply);
    return reply.files.map((f) =>
      'error' in f ? { path: f.path ?? '', error: f.error } : { path: f.path, data: Buffer.from(f.data, 'base64'), size: f.size, token: f.token, eof: f.eof },
    );
  }

  async write(files: readonly WriteRequest[]): Promise<WriteResult[]> {
    const encoded = files.map((f) => ({ path: f.path, offset: f.offset, data: f.data.toString('base64'), last: f.last }));
    const reply = await this.fileOp('write', { files: encoded }, maxIoReplyBytes(0, files.length));
    if (reply.op !== 'wrote') throw unexpected(reply);
    return reply.files.map((f) => ({ ...f, path: f.path ?? '' }));
  }

  async remove(paths: readonly string[]): Promise<FileError[]> {
    const reply = await this.fileOp('remove', { paths }, maxIoReplyBytes(0, paths.length));
    if (reply.op !== 'removed') throw unexpected(reply);
    return reply.errors;
  }

  async wipe(): Promise<FileError[]> {
    const reply = await this.fileOp('wipe', {}, maxIoReplyBytes(0, 10_000));
    if (reply.op !== 'removed') throw unexpected(reply);
    return reply.errors;
  }

  async stopContext(contextId: string): Promise<void> {
    const reply = await this.fileOp('context_stop', { context_id: contextId }, BASE_MAX_LINE);
    if (reply.op !== 'context_stopped') throw unexpected(reply);
  }

  cancel(runId: string): void {
    if (this.alive) this.stream.write(`${JSON.stringify({ op: 'cancel', id: runId })}\n`);
  }

  lease(untilMs: number): void {
    if (this.alive) this.stream.write(`${JSON.stringify({ op: 'lease', until_ms: Math.floor(untilMs) })}\n`);
  }

  stopLeftover(runId: string): void {
    this.leftovers.add(runId);
    this.cancel(runId);
  }

  freeze(): Promise<void> {
    if (this.frozenSince !== null || !this.alive) return this.pausing;
    // first: no backstop may fire while the container is being frozen
    this.frozenSince = performance.now();
    return this.applyPause(true);
  }

  thaw(): Promise<void> {
    if (this.frozenSince === null) return this.pausing;
    this.frozenBefore += performance.now() - this.frozenSince;
    this.frozenSince = null;
    return this.applyPause(false);
  }

  /**
   * One pause or unpause at a time, in the order asked: a thaw asked while the freeze is still on its
   * way waits for it, instead of finding the container not paused yet and leaving it frozen after.
   */
  private applyPause(frozen: boolean): Promise<void> {
    const next = this.pausing.then(async () => {
      if (!this.alive) return;
      try {
        await this.pause(frozen);
      } catch (e) {
        // already as asked (a container paused by hand, or a retried call): nothing to do
        if (/is (not|already) paused/.test((e as Error).message)) return;
        if (frozen && this.frozenSince !== null) {
          // not frozen after all: the backstop counts again
          this.frozenBefore += performance.now() - this.frozenSince;
          this.frozenSince = null;
        }
        throw e;
      }
    });
    this.pausing = next.catch(() => undefined);
    return next;
  }


  async ping(timeoutMs: number): Promise<void> {
    const id = `ping-${++this.seq}`;
    const pong = await this.call(id, `${JSON.stringify({ op: 'ping', id })}\n`, BASE_MAX_LINE, timeoutMs);
    const refused = pong.op === 'pong' ? executorRefusal(pong) : `executor sent '${pong.op}' for a ping`;
    if (refused) {
      this.lose(refused);
      throw new SandboxLostError(refused);
    }
    if (pong.op === 'pong' && !this.runtimes.length) this.runtimes = imageRuntimes(pong);
  }

  /**
   * Pings the executor every `intervalMs` while the sandbox lives (each ping resets its orphan clock);
   * an executor that does not answer within a file operation's time is stuck, and the sandbox lost.
   */
  keepAlive(intervalMs: number): void {
    if (this.keepalive || !this.alive) return;
    this.keepalive = setInterval(() => void this.ping(FILE_OP_TIMEOUT_MS).catch(() => undefined), intervalMs);
    this.keepalive.unref();
  }

  onLost(listener: (reason: string) => void): void {
    if (this.lostReason !== null) listener(this.lostReason);
    else this.lostListeners.push(listener);
  }

  detach(): void {
    if (this.detached) return;
    this.detached = true;
    this.stopKeepAlive();
    this.failAll(new SandboxLostError('sandbox detached'));
    this.stream.removeAllListeners('end');
    this.stream.removeAllListeners('close');
    this.stream.destroy();
  }

  /** Ends the sandbox for good: pending requests fail, listeners hear why (once). */
  lose(reason: string): void {
    if (this.lostReason !== null || this.detached) return;
    this.lostReason = reason;
    this.stopKeepAlive();
    this.failAll(new SandboxLostError(reason));
    this.stream.destroy();
    for (const listener of this.lostListeners.splice(0)) listener(reason);
  }

  private async fileOp(op: string, fields: object, maxLine: number): Promise<ExecutorReply> {
    const id = `${op}-${++this.seq}`;
    const reply = await this.call(id, `${JSON.stringify({ op, id, ...fields })}\n`, maxLine, FILE_OP_TIMEOUT_MS);
    if (reply.op === 'error') throw new ExecutorFailure('error' in reply ? reply.error : `executor refused ${op}`);
    return reply;
  }

  /**
   * Sends one request line and resolves to the reply with its id. The reply may be as long as
   * `maxLine`; no answer within `timeoutMs` means the executor is stuck, and the sandbox is lost.
   */
  private async call(id: string, line: string, maxLine: number, timeoutMs: number): Promise<ExecutorReply> {
    if (!this.alive) throw new SandboxLostError(this.lostReason ?? 'sandbox detached');
    this.lineLimits.set(id, maxLine);
    this.splitter.setMaxLine(Math.max(BASE_MAX_LINE, ...this.lineLimits.values()));
    try {
      const reply = new Promise<ExecutorReply>((resolve, reject) => {
        this.waiting.set(id, { resolve, reject });
        this.stream.write(line, (err) => {
          if (err) this.lose(`cannot write to sandbox: ${err.message}`);
        });
      });
      return await this.withTimeout(reply, timeoutMs, `sandbox executor did not answer within ${timeoutMs} ms`);
    } finally {
      this.waiting.delete(id);
      this.lineLimits.delete(id);
      this.splitter.setMaxLine(Math.max(BASE_MAX_LINE, ...this.lineLimits.values()));
    }
  }

  private onLine(line: string | null): void {
    if (line === null) return this.lose('sandbox executor sent an over-long reply');
    let reply: ExecutorReply;
    try {
      reply = executorReply.parse(JSON.parse(line));
    } catch {
      return this.lose('sandbox executor sent an invalid reply');
    }
    if (reply.op === 'ready') {
      const refused = executorRefusal(reply);
      if (refused) return this.lose(refused);
      this.runtimes = imageRuntimes(reply);
      this.readyWaiter?.resolve(reply);
      this.readyWaiter = null;
      return;
    }
    const id = 'id' in reply ? reply.id : null;
    if (id && reply.op === 'output') return this.onOutput(id, reply.stream, Buffer.from(reply.data, 'base64'));
    if (id && reply.op === 'case') return this.onCase(id, reply.index, toCaseReport(reply, this.listening.get(id)?.cap ?? 0));
    if (id && reply.op === 'result' && this.leftovers.delete(id)) return;
    const waiter = id ? this.waiting.get(id) : undefined;
    if (!waiter || !id) return this.lose('sandbox executor answered a request nobody made');
    this.waiting.delete(id);
    waiter.resolve(reply);
  }

  private onOutput(id: string, stream: 'stdout' | 'stderr', data: Buffer): void {
    if (this.leftovers.has(id)) return;
    const l = this.listening.get(id);
    if (!l?.onOutput) return this.lose('sandbox executor sent output of a run nobody streams');
    const kept = data.subarray(0, Math.max(0, l.cap - l.heard[stream]));
    l.heard[stream] += kept.length;
    if (kept.length) l.onOutput(stream, kept);
  }

  private onCase(id: string, index: number, report: CaseReport): void {
    if (this.leftovers.has(id)) return;
    const l = this.listening.get(id);
    if (!l?.onCase || index !== l.nextCase || index >= l.cases) return this.lose('sandbox executor sent a test case nobody asked for');
    l.nextCase += 1;
    l.onCase(index, report);
  }

  private stopKeepAlive(): void {
    if (this.keepalive) clearInterval(this.keepalive);
    this.keepalive = null;
  }

  private failAll(error: Error): void {
    this.readyWaiter?.reject(error);
    this.readyWaiter = null;
    for (const w of this.waiting.values()) w.reject(error);
    this.waiting.clear();
  }

  /** Time spent frozen so far, ms. */
  private frozenMs(): number {
    return this.frozenBefore + (this.frozenSince === null ? 0 : performance.now() - this.frozenSince);
  }

  /** `ms` of time not spent frozen: a frozen executor cannot answer, and is not stuck. */
  private async withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const t0 = performance.now();
    const frozen0 = this.frozenMs();
    try {
      return await Promise.race([
        promise,
        new Promise<never>((_, reject) => {
          const check = () => {
            const used = performance.now() - t0 - (this.frozenMs() - frozen0);
            if (this.frozenSince !== null || used < ms) {
              timer = setTimeout(check, Math.max(ms - used, 100));
              return;
            }
            this.lose(message);
            reject(new SandboxLostError(message));
          };
          timer = setTimeout(check, ms);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}

function unexpected(reply: ExecutorReply): ExecutorFailure {
  return new ExecutorFailure(`executor sent an unexpected '${reply.op}' reply`);
}

/**
 * The client kept alive for an executor that exits `orphanAfterSeconds` after the agent last spoke to
 * it: pinged four times within that time (unset: no bound, no pings).
 */
export function keptAlive(client: ExecutorClient, orphanAfterSeconds?: number): ExecutorClient {
  if (orphanAfterSeconds) client.keepAlive((orphanAfterSeconds * 1000) / 4);
  return client;
}

/** The client once its executor answers a ping, kept alive; detached, and the failure thrown, when it does not. */
export async function answering(client: ExecutorClient, timeoutMs: number, orphanAfterSeconds?: number): Promise<ExecutorClient> {
  try {
    await client.ping(timeoutMs);
  } catch (e) {
    client.detach();
    throw e;
  }
  return keptAlive(client, orphanAfterSeconds);
}
