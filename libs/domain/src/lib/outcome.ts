/** How one run ended, as the sandbox reported it (already parsed and bounded by the runtime). */
export interface RunEnd {
  readonly exitCode: number | null;
  readonly signal: number | null;
  readonly timedOut: boolean;
  readonly cancelled: boolean;
  readonly outputLimited: boolean;
  readonly wallMs: number;
}

export interface Outcome {
  /** `crashed` is the reaper's verdict, never a run's. */
  readonly status: 'completed' | 'timeout' | 'failed';
  readonly exitCode: number | null;
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

/**
 * The terminal status of a run (DESIGN.md §2): `completed` when the program exited by itself (any
 * exit code, a signal shows as 128 + n like a shell), `timeout` at the wall-time limit, `failed` when
 * a platform limit or a cancellation stopped it.
 */
export function outcomeOf(report: RunEnd, limits: { timeoutSeconds: number; outputBytes: number }, cancelReason = 'cancelled'): Outcome {
  const exitCode = report.exitCode ?? (report.signal !== null ? 128 + report.signal : null);
  if (report.timedOut) {
    return { status: 'timeout', exitCode, error: `wall-time limit of ${limits.timeoutSeconds}s exceeded: the program was killed` };
  }
  if (report.outputLimited) {
    return { status: 'failed', exitCode, error: `output limit exceeded: more than ${limits.outputBytes} bytes on one stream, the program was killed` };
  }
  if (report.cancelled) return { status: 'failed', exitCode, error: cancelReason };
  return { status: 'completed', exitCode, error: report.signal !== null ? `terminated by ${signalName(report.signal)}` : null };
}
