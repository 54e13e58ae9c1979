import { type Duplex, PassThrough } from 'node:stream';
import { type RunReport, type RunRequest, type Sandbox, SandboxLostError } from './container-runtime';
import {
  encodeRun,
  ExecutorFailure,
  type ExecutorReply,
  executorReply,
  isResult,
  LineSplitter,
  maxReplyBytes,
  toRunReport,
} from './executor-protocol';

const BASE_MAX_LINE = 64 * 1024;

interface Pending {
  resolve(reply: ExecutorReply): void;
  reject(error: Error): void;
}

/**
 * A sandbox as seen through its executor: requests go down the attached stdin, replies come back
 * as lines on the demultiplexed stdout. One run at a time; anything odd on the wire (an unknown
 * reply, an over-long line, the stream ending) ends the sandbox, since user code can reach the
 * executor and nothing it sends is trusted.
 */
export class ExecutorClient implements Sandbox {
  private readonly waiting = new Map<string, Pending>();
  private readonly lostListeners: ((reason: string) => void)[] = [];
  private readonly splitter: LineSplitter;
  private readyWaiter: Pending | null = null;
  private lostReason: string | null = null;
  private detached = false;
  private pings = 0;

  constructor(
    readonly containerId: string,
    readonly templateId: string,
    private readonly stream: Duplex,
    demux: (stream: Duplex, stdout: PassThrough, stderr: PassThrough) => void,
    private readonly graceMs: number,
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
    if (!this.alive) throw new SandboxLostError(this.lostReason ?? 'sandbox detached');
    this.splitter.setMaxLine(maxReplyBytes(req.maxOutputBytes));
    const reply = this.request(req.id, encodeRun(req));
    // the executor enforces the wall time itself; this backstop only catches an executor that hangs
    const deadline = req.timeoutMs + this.graceMs;
    const answer = await this.withTimeout(reply, deadline, `sandbox executor did not answer within ${deadline} ms`);
    this.splitter.setMaxLine(BASE_MAX_LINE);
    if (!isResult(answer)) throw new ExecutorFailure('error' in answer ? answer.error : 'executor sent no result');
    return toRunReport(answer, req.maxOutputBytes);
  }

  cancel(runId: string): void {
    if (this.alive) this.stream.write(`${JSON.stringify({ op: 'cancel', id: runId })}\n`);
  }

  async ping(timeoutMs: number): Promise<void> {
    const id = `ping-${++this.pings}`;
    await this.withTimeout(this.request(id, `${JSON.stringify({ op: 'ping', id })}\n`), timeoutMs, 'sandbox executor did not answer a ping');
  }

  onLost(listener: (reason: string) => void): void {
    if (this.lostReason !== null) listener(this.lostReason);
    else this.lostListeners.push(listener);
  }

  detach(): void {
    if (this.detached) return;
    this.detached = true;
    this.failAll(new SandboxLostError('sandbox detached'));
    this.stream.removeAllListeners('end');
    this.stream.removeAllListeners('close');
    this.stream.destroy();
  }

  /** Ends the sandbox for good: pending requests fail, listeners hear why (once). */
  lose(reason: string): void {
    if (this.lostReason !== null || this.detached) return;
    this.lostReason = reason;
    this.failAll(new SandboxLostError(reason));
    this.stream.destroy();
    for (const listener of this.lostListeners.splice(0)) listener(reason);
  }

  private request(id: string, line: string): Promise<ExecutorReply> {
    return new Promise<ExecutorReply>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.stream.write(line, (err) => {
        if (err) this.lose(`cannot write to sandbox: ${err.message}`);
      });
    });
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
      this.readyWaiter?.resolve(reply);
      this.readyWaiter = null;
      return;
    }
    const id = 'id' in reply ? reply.id : null;
    const waiter = id ? this.waiting.get(id) : undefined;
    if (!waiter || !id) return this.lose('sandbox executor answered a request nobody made');
    this.waiting.delete(id);
    waiter.resolve(reply);
  }

  private failAll(error: Error): void {
    this.readyWaiter?.reject(error);
    this.readyWaiter = null;
    for (const w of this.waiting.values()) w.reject(error);
    this.waiting.clear();
  }

  private async withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        promise,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            this.lose(message);
            reject(new SandboxLostError(message));
          }, ms);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}
