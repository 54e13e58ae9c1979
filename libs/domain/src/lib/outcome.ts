/** How one run ended, as the sandbox reported it (already parsed and bounded by the runtime). */
export interface RunEnd {
  readonly exitCode: number | null;
  readonly signal: number | null;
  readonly timedOut: boolean;
  readonly cancelled: boolean;
  readonly outputLimited: boolean;
  /** The container's OOM killer struck during the run (from its cgroup's counter). */
  readonly oomKilled: boolean;
  /** The pids limit refused at least one fork during the run. */
  readonly pidsLimited: boolean;
  readonly wallMs: number;
}

/**
 * Why an execution ended, for machines (the status says how, the error says it to people):
 * `exited` by itself, killed at the `wall_timeout`, at the `memory_limit`, at the `output_limit`,
 * `pids_limit` refused forks, died of a `signal`, `cancelled` (its session ended), `no_capacity` (its
 * session found no node with room within the placement timeout), `sandbox_lost`
 * (the container died), `agent_lost` (its agent vanished too often), `input_file` (a file of its
 * `files` could not be written: the path is taken by a directory), `context_lost` (its interpreter
 * context was lost with its sandbox, or deleted), `compile_error` (a C or C++ program did not compile: the
 * compiler's exit code and `compile_output` say why), `internal` (the platform failed).
 */
export const EXECUTION_REASONS = [
  'exited',
  'wall_timeout',
  'memory_limit',
  'output_limit',
  'pids_limit',
  'signal',
  'cancelled',
  'no_capacity',
  'sandbox_lost',
  'agent_lost',
  'input_file',
  'context_lost',
  'compile_error',
  'internal',
] as const;
export type ExecutionReason = (typeof EXECUTION_REASONS)[number];

export interface Outcome {
  /** `crashed` is the reaper's verdict, never a run's. */
  readonly status: 'completed' | 'timeout' | 'failed';
  readonly reason: ExecutionReason;
  readonly exitCode: number | null;
  /** The name of the signal the program died of, if it did. */
  readonly signal: string | null;
  readonly error: string | null;
}

const SIGNAL_NAMES: Readonly<Record<number, string>> = {
  1: 'SIGHUP', 2: 'SIGINT', 3: 'SIGQUIT', 4: 'SIGILL', 5: 'SIGTRAP', 6: 'SIGABRT', 7: 'SIGBUS', 8: 'SIGFPE',
  9: 'SIGKILL', 10: 'SIGUSR1', 11: 'SIGSEGV', 12: 'SIGUSR2', 13: 'SIGPIPE', 14: 'SIGALRM', 15: 'SIGTERM',
  24: 'SIGXCPU', 25: 'SIGXFSZ', 31: 'SIGSYS',
};

export function signalName(signal: number): string {
  return SIGNAL_NAMES[signal] ?? `signal ${signal}`;
}

/** The number of a signal `signalName` named. */
export function signalNumber(name: string): number | null {
  const found = Object.entries(SIGNAL_NAMES).find(([, n]) => n === name)?.[0] ?? /^signal (\d+)$/.exec(name)?.[1];
  return found === undefined ? null : Number(found);
}

/**
 * The verdict on a run (DESIGN.md §2), first match wins: the wall-time limit (`timeout`), then the
 * platform limits that stopped it (`failed`: memory, output) or a cancellation, then the program's own
 * end (`completed` with any exit code; a signal shows as 128 + n like a shell, and a pids limit that
 * refused forks is named even when the program coped).
 */
export function outcomeOf(
  report: RunEnd,
  limits: { timeoutSeconds: number; outputBytes: number; memory: string },
  cancelReason = 'cancelled',
): Outcome {
  const exitCode = shellExitCode(report);
  const signal = report.signal !== null ? signalName(report.signal) : null;
  const verdict = (status: Outcome['status'], reason: ExecutionReason, error: string | null): Outcome => ({ status, reason, exitCode, signal, error });
  if (report.timedOut) return verdict('timeout', 'wall_timeout', `wall-time limit of ${limits.timeoutSeconds}s exceeded: the program was killed`);
  if (report.oomKilled) return verdict('failed', 'memory_limit', `memory limit of ${limits.memory} exceeded: the program was killed by the out-of-memory killer`);
  if (report.outputLimited) {
    return verdict('failed', 'output_limit', `output limit exceeded: more than ${limits.outputBytes} bytes on one stream, the program was killed`);
  }
  if (report.cancelled) return verdict('failed', 'cancelled', cancelReason);
  if (signal !== null) return verdict('completed', 'signal', `terminated by ${signal}`);
  if (report.pidsLimited) return verdict('completed', 'pids_limit', 'the process limit refused to start more processes or threads');
  return verdict('completed', 'exited', null);
}

/** The exit code as a shell shows it: a death by signal n is 128 + n. */
export function shellExitCode(end: Pick<RunEnd, 'exitCode' | 'signal'>): number | null {
  return end.exitCode ?? (end.signal !== null ? 128 + end.signal : null);
}

/** How a C or C++ compile ended (parsed and bounded by the runtime). */
export interface CompileEnd {
  readonly exitCode: number | null;
  readonly signal: number | null;
  readonly timedOut: boolean;
  readonly oomKilled: boolean;
}

/**
 * The verdict on a compile that failed, or null when it succeeded: `completed` with reason
 * `compile_error` (the program's own fault, as a non-zero exit is), the compiler's exit code, and what
 * stopped it. Its wall-time limit is the execution's.
 */
export function compileOutcome(c: CompileEnd, limits: { timeoutSeconds: number; memory: string }): Outcome | null {
  if (c.exitCode === 0 && c.signal === null && !c.timedOut && !c.oomKilled) return null;
  const signal = c.signal !== null ? signalName(c.signal) : null;
  const why = c.timedOut
    ? `it took longer than the wall-time limit of ${limits.timeoutSeconds}s`
    : c.oomKilled
      ? `the compiler ran out of memory (${limits.memory})`
      : signal
        ? `the compiler was terminated by ${signal}`
        : c.exitCode === null
          ? 'the compiled program could not be loaded'
          : `the compiler exited with ${c.exitCode}`;
  return { status: 'completed', reason: 'compile_error', exitCode: shellExitCode(c), signal, error: `compilation failed: ${why}; compile_output has what the compiler said` };
}
