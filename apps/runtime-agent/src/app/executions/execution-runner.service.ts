import { Inject, Injectable } from '@nestjs/common';
import {
  type CaseResult,
  caseOutputBytes,
  Clock,
  CLIENT_CANCEL,
  compileOutcome,
  completeExecution,
  DEFAULT_COMPARE,
  type Execution,
  type ExecutionStatus,
  type InputFile,
  failExecution,
  isLanguage,
  judgeCase,
  LIMITS,
  outcomeOf,
  outputPieces,
  runIdOf,
  type Outcome,
  type ExecutionReason,
  type Session,
  SKIPPED_LISTED,
  type SkippedFile,
  storableBase64,
  storableOutput,
  summarize,
  type TestResults,
  timeOutExecution,
  type Transition,
  workspaceLimitsOf,
} from '@sandbox/domain';
import { type AttemptFence, type Claimed, ExecutionRepository, type ExecutionResult, InterpreterContextRepository, SessionRepository } from '@sandbox/persistence';
import { Doorbells, ExecutionEventsPublisher, ExecutionOutputPublisher } from '@sandbox/queue';
import { type RunCase, type RunReport, type RunRequest, type Sandbox, SandboxLostError, type WorkspaceScan } from '@sandbox/runtime';
import { annotateSpan, inSpan } from '@sandbox/telemetry';
import { type PushResult, scanLimitOf, WorkspaceSync } from '@sandbox/workspace-sync';
import { Semaphore } from 'async-mutex';
import { ExponentialBackoff, handleWhen, retry } from 'cockatiel';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { AGENT_CONFIG, type AgentConfig } from '../agent.config';
import { AgentMetrics } from '../metrics/agent.metrics';
import { type Hosted, SessionHostService } from '../sessions/session-host.service';
import { RichResultsService } from './rich-results.service';

const TRANSITIONS: Record<Outcome['status'], Transition<ExecutionStatus>> = {
  completed: completeExecution,
  timeout: timeOutExecution,
  failed: failExecution,
};
// a terminal write keeps being retried through a database outage this long (I3)
const WRITE_DEADLINE_MS = 10 * 60_000;
// the streamed output waits this long at most to be in Redis before the result is written
const OUTPUT_FLUSH_MS = 2000;

interface Loop {
  /** set by a doorbell while the loop runs: look for pending executions once more before stopping */
  dirty: boolean;
  done?: Promise<void>;
}

interface Active {
  readonly fence: AttemptFence;
  readonly sessionId: string;
  readonly runId: string;
  cancelReason: string | null;
  /** Stopped and given up: no result is written, the reaper retries the attempt (this node was lost). */
  abandoned: boolean;
  /** Its session's template, once known (a metrics label). */
  template: string;
  /** Stops its workspace transfers when the attempt is given up. */
  readonly sync: AbortController;
  /** Its streamed output being stored: awaited before the result is written, not before the push. */
  outputStored: Promise<void>;
}

/**
 * Runs the executions of the sessions held here: one loop per session takes its pending executions
 * in id order and runs them one at a time (I2); loops of different sessions run in parallel up to
 * AGENT_CAPACITY. Queue jobs are doorbells for these loops, so a doorbell that arrives twice or
 * late changes nothing.
 */
@Injectable()
export class ExecutionRunnerService {
  private readonly loops = new Map<string, Loop>();
  private readonly active = new Map<string, Active>();
  private readonly slots: Semaphore;
  private stopping = false;
  /** Why this node holds its work (cannot tell whether it still owns it); null: it runs. */
  private heldFor: string | null = null;
  /** The node's fence deadline (host monotonic ms): every run's lease, renewed by each beat. */
  private leaseUntil: number | undefined;

  constructor(
    @Inject(AGENT_CONFIG) private readonly config: AgentConfig,
    private readonly executions: ExecutionRepository,
    private readonly sessions: SessionRepository,
    private readonly host: SessionHostService,
    private readonly workspaces: WorkspaceSync,
    private readonly events: ExecutionEventsPublisher,
    private readonly output: ExecutionOutputPublisher,
    private readonly doorbells: Doorbells,
    private readonly contexts: InterpreterContextRepository,
    private readonly richResults: RichResultsService,
    private readonly metrics: AgentMetrics,
    private readonly clock: Clock,
    @InjectPinoLogger(ExecutionRunnerService.name) private readonly log: PinoLogger,
  ) {
    this.slots = new Semaphore(config.AGENT_CAPACITY);
    metrics.gauge('sandbox_executions_running', 'Executions running on the node now', () => [[{ node: config.NODE_ID }, this.active.size]]);
  }

  get running(): number {
    return this.active.size;
  }

  /** Fences of the attempts running now, for the batched heartbeat. */
  fences(): AttemptFence[] {
    return [...this.active.values()].map((a) => a.fence);
  }

  /** Wakes the session's loop (starting it if needed). */
  kick(sessionId: string): void {
    if (this.stopping) return;
    const loop = this.loops.get(sessionId);
    if (loop) {
      loop.dirty = true;
      return;
    }
    const fresh: Loop = { dirty: true };
    this.loops.set(sessionId, fresh);
    fresh.done = this.loop(sessionId, fresh)
      .catch((e) => this.log.error({ session_id: sessionId, err: e }, 'session run loop failed'))
      .finally(() => this.loops.delete(sessionId));
  }

  /** Stops the session's running execution, which then ends `failed` with this reason. */
  cancel(sessionId: string, reason: string): void {
    for (const a of this.active.values()) {
      if (a.sessionId !== sessionId) continue;
      a.cancelReason = reason;
      this.host.sandboxIfHeld(sessionId)?.cancel(a.runId);
    }
  }

  /**
   * A client's cancel of one execution (marked in MariaDB first): stopped if it runs here, and ended
   * `failed` (`cancelled`) with what it did so far. Says what it did, for the job's log.
   */
  cancelExecution(executionId: string, reason: string): string {
    const a = this.active.get(executionId);
    // claimed with the mark already read (attempt starts with it), finished, or never here
    if (!a) return 'not running here';
    a.cancelReason ??= reason;
    this.host.sandboxIfHeld(a.sessionId)?.cancel(a.runId);
    return 'stopping';
  }

  /**
   * Stops every running execution and gives its attempt up without writing a result: this node was
   * declared lost, or cannot reach the database, so the reaper (the one retry owner) retries it.
   */
  abandonAll(reason: string): void {
    for (const a of this.active.values()) {
      if (a.abandoned) continue;
      a.abandoned = true;
      a.sync.abort(new Error(reason));
      this.log.warn({ session_id: a.sessionId, execution_id: a.fence.id, attempt: a.fence.attempt, reason }, 'abandoning the attempt');
      // a frozen run is never thawed: its sandbox is given up, and removed while still frozen
      if (this.heldFor) void this.host.drop(a.sessionId, reason);
      else this.host.sandboxIfHeld(a.sessionId)?.cancel(a.runId);
    }
  }

  private freeze(a: Active): void {
    if (a.abandoned) return;
    this.log.warn({ session_id: a.sessionId, execution_id: a.fence.id, attempt: a.fence.attempt, reason: this.heldFor }, 'freezing the run');
    this.host.sandboxIfHeld(a.sessionId)?.freeze().catch((e) => this.log.error({ session_id: a.sessionId, err: e }, 'cannot freeze the sandbox'));
  }

  /**
   * This node may be declared lost any moment (no heartbeat got through): its runs are frozen, not
   * killed, and it claims nothing, so the same code never runs on two nodes at once. If the node
   * turns out to be still its owner, `unhold` thaws them and they go on; if it was declared lost,
   * `abandonAll` ends them without ever thawing them.
   */
  hold(reason: string): void {
    if (this.heldFor) return;
    this.heldFor = reason;
    for (const a of this.active.values()) this.freeze(a);
  }

  /**
   * A beat got through: runs may go on until the new fence deadline. A run whose agent hangs or is cut
   * off stops by itself there (its executor stops its processes), even if this process cannot act.
   */
  lease(untilMs: number): void {
    this.leaseUntil = untilMs;
    for (const a of this.active.values()) if (!a.abandoned) this.host.sandboxIfHeld(a.sessionId)?.lease(untilMs);
  }

  /** The node owns its work again: frozen runs go on, loops claim again. */
  unhold(sessionIds: readonly string[]): void {
    if (!this.heldFor) return;
    this.heldFor = null;
    for (const a of this.active.values()) {
      if (a.abandoned) continue;
      this.host.sandboxIfHeld(a.sessionId)?.thaw().catch((e) => this.log.error({ session_id: a.sessionId, err: e }, 'cannot thaw the sandbox'));
    }
    this.log.info({ runs: this.active.size }, 'this node owns its work again: runs thawed');
    for (const id of sessionIds) this.kick(id);
  }

  /** Waits for the loop of one session to finish (its container may then be removed). */
  async settle(sessionId: string): Promise<void> {
    await this.loops.get(sessionId)?.done;
  }

  /** Shutdown or drain: no new executions; running ones get `timeoutMs` to finish, then are cancelled. */
  async drain(timeoutMs: number): Promise<void> {
    this.stopping = true;
    const all = Promise.allSettled([...this.loops.values()].map((l) => l.done));
    const timer = new Promise<'late'>((r) => setTimeout(() => r('late'), timeoutMs).unref());
    if ((await Promise.race([all, timer])) === 'late') {
      for (const a of this.active.values()) this.cancel(a.sessionId, 'the runtime agent shut down before the execution finished');
      await all;
    }
  }

  /** Takes executions again after a drain that was called off (undrain). */
  resume(): void {
    this.stopping = false;
  }

  private async loop(sessionId: string, loop: Loop): Promise<void> {
    while (loop.dirty && !this.stopping) {
      loop.dirty = false;
      for (;;) {
        const release = (await this.slots.acquire())[1];
        try {
          if (this.stopping || this.heldFor) return;
          const execution = await this.executions.claimNext(sessionId, this.config.NODE_ID);
          if (!execution) break;
          await this.runOne(execution);
          // none was behind it: one pending since rang its doorbell, which set `dirty`
          if (!execution.morePending) break;
        } finally {
          release();
        }
      }
    }
  }

  /** One attempt, as a span continuing the trace of the request that accepted the execution. */
  private runOne(execution: Claimed): Promise<void> {
    const attributes = {
      'sandbox.session_id': execution.sessionId,
      'sandbox.execution_id': execution.id,
      'sandbox.attempt': execution.attempt,
      'sandbox.node': this.config.NODE_ID,
    };
    return inSpan('execution.run', attributes, () => this.attempt(execution), execution.traceParent);
  }

  private async attempt(execution: Claimed): Promise<void> {
    const fence: AttemptFence = { id: execution.id, attempt: execution.attempt, node: this.config.NODE_ID, startedAt: execution.startedAt };
    const active: Active = {
      fence,
      sessionId: execution.sessionId,
      runId: runIdOf(execution),
      cancelReason: execution.cancelRequestedAt ? CLIENT_CANCEL : null,
      abandoned: false,
      template: 'unknown',
      sync: new AbortController(),
      outputStored: Promise.resolve(),
    };
    this.active.set(execution.id, active);
    const fields = { session_id: execution.sessionId, execution_id: execution.id, attempt: execution.attempt, runtime_node: fence.node };
    const t0 = Date.now();
    let outcome: { status: Outcome['status']; result: ExecutionResult };
    try {
      outcome = await this.execute(execution, active);
    } finally {
      this.active.delete(execution.id);
    }
    if (active.abandoned) return;
    // a follower that sees the result has seen every piece of the output (or the pieces were given up)
    await active.outputStored;
    annotateSpan({ 'sandbox.template_id': active.template, 'sandbox.status': outcome.status, 'sandbox.reason': outcome.result.reason });
    const written = await inSpan('result.write', {}, () => this.record(fence, TRANSITIONS[outcome.status], outcome.result, fields));
    if (!written) {
      // retried elsewhere or ended while we ran: the fence keeps this late result out (I4)
      this.log.warn(fields, 'result fenced out: the attempt no longer owns the execution');
      return;
    }
    const status = TRANSITIONS[outcome.status].to;
    this.metrics.executions.inc({ template: active.template, status, reason: outcome.result.reason });
    this.metrics.executionDuration.observe({ template: active.template, status }, (Date.now() - t0) / 1000);
    this.log.info(
      { ...fields, template_id: active.template, status, reason: outcome.result.reason, exit_code: outcome.result.exitCode, duration_ms: Date.now() - t0 },
      'execution finished',
    );
    // best effort, both: a waiter that misses the event re-reads the database, and the activity only
    // delays idle expiry (recorded after the announcement, which a client waits for)
    await this.events.finished({ execution_id: execution.id, status: TRANSITIONS[outcome.status].to }).catch((e) => this.log.warn({ ...fields, err: e }, 'execution end not announced'));
    await this.sessions.touch(execution.sessionId).catch((e) => this.log.warn({ ...fields, err: e }, 'session activity not recorded'));
    // the reaper's outbox queues it too, a tick later, if this fails or this process dies first
    if (execution.callbackUrl) {
      await this.doorbells
        .webhook(execution.id)
        .then(() => this.executions.moveWebhook(execution.id, ['pending'], 'queued'))
        .catch((e) => this.log.warn({ ...fields, err: e }, 'webhook not queued yet'));
    }
  }

  /**
   * The attempt's one terminal write, retried with backoff through a database outage for up to
   * WRITE_DEADLINE_MS (I3: an execution must never stay `running`). False when fenced out.
   */
  private async record(fence: AttemptFence, t: Transition<ExecutionStatus>, result: ExecutionResult, fields: object): Promise<boolean> {
    const until = this.clock.monotonic() + WRITE_DEADLINE_MS;
    const policy = retry(
      handleWhen(() => this.clock.monotonic() < until),
      { maxAttempts: Number.MAX_SAFE_INTEGER, backoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 5000 }) },
    );
    policy.onRetry((r) => this.log.warn({ ...fields, err: 'error' in r ? r.error : undefined, retry: r.attempt }, 'cannot record the result yet, retrying'));
    return policy.execute(() => this.executions.finish(fence, t, result));
  }

  private async execute(execution: Claimed, active: Active): Promise<{ status: Outcome['status']; result: ExecutionResult }> {
    const failed = (reason: ExecutionReason, error: string) => ({
      status: 'failed' as const,
      result: { stdout: '', stderr: '', stdoutTruncated: false, stderrTruncated: false, exitCode: null, executionTime: null, error, reason },
    });
    const { session } = execution;
    active.template = session.templateId;
    if (!isLanguage(execution.language)) return failed('internal', `language '${execution.language}' is not supported`);
    let hosted: Hosted;
    let report: RunReport;
    let notRestored: SkippedFile[];
    let judged: ReturnType<ExecutionRunnerService['judged']> | null = null;
    let cap = this.config.OUTPUT_LIMIT_BYTES;
    try {
      hosted = await this.host.hostedFor(session);
      cap = hosted.template.limits.output_bytes ?? cap;
      notRestored = await inSpan('workspace.pull', {}, () => this.workspaces.pull(hosted.sandbox, hosted.workspace, session, active.sync.signal)).catch((e: Error) => {
        if (e instanceof SandboxLostError) throw e;
        throw new Error(`the workspace could not be restored from storage (${e.message}); the next execution tries again`);
      });
      const { sandbox } = hosted;
      const language = execution.language;
      // claimed just as the node lost touch: it starts frozen (and stopped by its lease anyway)
      if (this.heldFor) await sandbox.freeze().catch((e) => this.log.error({ session_id: session.id, err: e }, 'cannot freeze the sandbox'));
      // cancelled before it started: a cancel sent from now on reaches the executor after the run
      if (active.cancelReason) return failed('cancelled', active.cancelReason);
      const context = execution.contextId ? await this.contextFor(execution.contextId, sandbox) : null;
      if (typeof context === 'string') return failed('context_lost', context);
      const unwritten = await this.writeInputFiles(sandbox, execution.inputFiles ?? []);
      if (unwritten) return failed('input_file', unwritten);
      judged = execution.testCases ? this.judged(execution, cap) : null;
      report = await inSpan('sandbox.run', { 'sandbox.container_id': sandbox.containerId }, () => this.streamed(execution, active, (onOutput) => sandbox.run({
        id: active.runId,
        language,
        code: execution.code,
        stdin: execution.encoding === 'base64' && execution.stdin ? Buffer.from(execution.stdin, 'base64') : execution.stdin,
        env: { ...session.envVars, ...execution.envVars },
        ...(execution.args ? { args: execution.args } : {}),
        timeoutMs: execution.timeout * 1000,
        maxOutputBytes: cap,
        leaseUntilMs: this.leaseUntil,
        // the push after the run scans the workspace: the run's reply brings the scan along
        scan: scanLimitOf(workspaceLimitsOf(hosted.template)),
        ...(context ? { context } : {}),
        // a run with test cases has no output of its own to stream: each case's is in its result
        ...(judged ? { cases: judged.cases, casesBudgetMs: LIMITS.testCasesSeconds * 1000, onCase: judged.onCase } : { onOutput }),
      })));
    } catch (e) {
      if (e instanceof SandboxLostError) {
        return failed('sandbox_lost', `sandbox lost: ${e.message}; the session gets a new container for its next execution`);
      }
      return failed('internal', `the platform could not run the execution: ${(e as Error).message}`);
    }
    // given up: the retried attempt works from the store, which this one must not change any more
    if (active.abandoned) return failed('internal', 'abandoned');
    // whatever the verdict, what the program wrote so far is kept
    const sync = await inSpan('workspace.push', {}, () => this.push(hosted, session, execution, active, notRestored, report.scan));
    const memory = session.resources.memory ?? hosted.template.defaultResources.memory ?? 'its memory';
    const failedCompile = report.compile && !report.cancelled ? compileOutcome(report.compile, { timeoutSeconds: execution.timeout, memory }) : null;
    const outcome = failedCompile ?? outcomeOf(report, { timeoutSeconds: execution.timeout, outputBytes: cap, memory }, active.cancelReason ?? 'cancelled');
    const stored = (bytes: Buffer) => (execution.encoding === 'base64' ? storableBase64(bytes, cap) : storableOutput(bytes, cap));
    const stdout = stored(report.stdout);
    const stderr = stored(report.stderr);
    const results = await this.richResults.record(execution, hosted.template, report);
    const reset = report.context?.reset;
    const tested = judged?.results();
    // with test cases the run is theirs: its CPU time and peak memory are theirs too
    const cpuMs = tested ? tested.cases.reduce((n, c) => n + c.cpu_ms, 0) : report.cpuMs;
    const peakMemory = tested ? Math.max(0, ...tested.cases.map((c) => c.peak_memory_bytes)) : report.maxRssKb * 1024;
    const unrun =
      tested && outcome.reason === 'exited' && tested.summary.ran < tested.summary.total
        ? `the test cases may take ${LIMITS.testCasesSeconds} s in all: ${tested.summary.ran} of ${tested.summary.total} ran before that ran out`
        : null;
    return {
      status: outcome.status,
      result: {
        stdout: stdout.text,
        stderr: stderr.text,
        stdoutTruncated: stdout.truncated || report.stdoutBytes > report.stdout.length,
        stderrTruncated: stderr.truncated || report.stderrBytes > report.stderr.length,
        exitCode: outcome.exitCode,
        executionTime: report.wallMs / 1000,
        error: reset ? `${outcome.error ? `${outcome.error}; ` : ''}the context's interpreter was reset (${reset}): the next cell starts a fresh one, without its variables` : (unrun ?? outcome.error),
        reason: outcome.reason,
        usage: {
          wall_ms: Math.round(report.wallMs),
          cpu_ms: Math.round(cpuMs),
          peak_memory_bytes: peakMemory,
          stdout_bytes: report.stdoutBytes,
          stderr_bytes: report.stderrBytes,
          signal: outcome.signal,
        },
        artifacts: sync.artifacts,
        collected: sync.collected,
        skippedArtifacts: sync.skipped,
        results,
        contextState: report.context,
        ...(tested ? { testResults: tested } : {}),
        ...(report.compile ? { compileOutput: storableOutput(report.compile.output, report.compile.output.length).text } : {}),
      },
    };
  }

  /**
   * The execution's test cases as the executor runs them, and the verdict on each as it comes: the
   * expected outputs never enter the sandbox, so nothing there can read or change them.
   */
  private judged(execution: Execution, cap: number): { cases: RunCase[]; onCase: NonNullable<RunRequest['onCase']>; results: () => TestResults } {
    const testCases = execution.testCases ?? [];
    const binary = execution.encoding === 'base64';
    const compare = execution.compare ?? DEFAULT_COMPARE;
    const keepBytes = caseOutputBytes(testCases.length, cap);
    const done: CaseResult[] = [];
    return {
      cases: testCases.map((c) => ({
        stdin: binary ? Buffer.from(c.stdin, 'base64') : c.stdin,
        args: c.args ?? execution.args ?? [],
        timeoutMs: (c.timeout ?? execution.timeout) * 1000,
      })),
      onCase: (index, run) => {
        done.push(judgeCase(run, testCases[index]!, { binary, compare, keepBytes, timeoutSeconds: testCases[index]!.timeout ?? execution.timeout }));
      },
      results: () => ({ compare, summary: summarize(done, testCases.length), cases: done }),
    };
  }

  /**
   * The interpreter a cell runs in: its context, bound to this sandbox by its first cell. Why it is
   * lost instead (a string) when it was deleted, or when its interpreter lived in a sandbox this
   * session no longer has: never started afresh in its place, with its variables missing.
   */
  private async contextFor(contextId: string, sandbox: Sandbox): Promise<{ id: string; generation: number } | string> {
    const context = await this.contexts.bind(contextId, sandbox.containerId);
    if (!context) return `the context '${contextId}' was deleted`;
    if (context.containerId !== sandbox.containerId) {
      return `the interpreter of context '${contextId}' was lost with the sandbox it ran in (its agent or container was lost): its variables are gone; create a new context`;
    }
    return { id: context.id, generation: context.generation };
  }

  /**
   * Writes the execution's `files` into the workspace as the sandbox user (parents made, existing
   * files replaced); the push after the run stores them with the rest. Says what failed, or null.
   */
  private async writeInputFiles(sandbox: Sandbox, files: readonly InputFile[]): Promise<string | null> {
    if (!files.length) return null;
    const written = await sandbox.write(files.map((f) => ({ path: f.path, offset: 0, data: Buffer.from(f.contentBase64, 'base64'), last: true })));
    const failed = written.find((w) => w.error);
    return failed ? `the input file '${failed.path}' could not be written: ${failed.error}` : null;
  }

  /**
   * Runs with the output streamed to the execution's followers as it comes (`ExecutionOutputPublisher`),
   * in the pieces the stored result then joins to; every piece is in Redis (or given up) before the
   * result is written (`active.outputStored`), so a follower that sees the result has seen the output.
   */
  private async streamed(execution: Execution, active: Active, run: (onOutput: (stream: 'stdout' | 'stderr', chunk: Buffer) => void) => Promise<RunReport>): Promise<RunReport> {
    const appender = this.output.attempt(execution.id, execution.attempt);
    const pieces = { stdout: outputPieces(execution.encoding), stderr: outputPieces(execution.encoding) };
    try {
      return await run((stream, chunk) => appender.append(stream, pieces[stream].push(chunk)));
    } finally {
      appender.append('stdout', pieces.stdout.end());
      appender.append('stderr', pieces.stderr.end());
      // stored while the workspace is pushed
      active.outputStored = appender.end(OUTPUT_FLUSH_MS);
    }
  }

  /**
   * Stores the workspace after a run; a failure leaves the files unstored, listed as skipped, never the
   * result. Files the pull before the run could not restore are listed with the skipped ones.
   */
  private async push(hosted: Hosted, session: Session, execution: Execution, active: Active, notRestored: SkippedFile[], scanned: WorkspaceScan | null): Promise<PushResult> {
    let result: PushResult;
    try {
      const limits = workspaceLimitsOf(hosted.template);
      result = await this.workspaces.push(hosted.sandbox, hosted.workspace, session, limits, execution.collect, active.fence, active.sync.signal, scanned);
    } catch (e) {
      this.log.error({ session_id: session.id, execution_id: execution.id, err: e }, 'cannot store the workspace');
      result = { artifacts: [], collected: null, skipped: { count: 1, items: [{ path: '*', size: null, reason: `the workspace was not stored: ${(e as Error).message}` }] } };
    }
    if (!notRestored.length) return result;
    const items = [...notRestored, ...(result.skipped?.items ?? [])];
    return { ...result, skipped: { count: notRestored.length + (result.skipped?.count ?? 0), items: items.slice(0, SKIPPED_LISTED) } };
  }
}
