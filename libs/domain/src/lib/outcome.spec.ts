import { compileOutcome, EXECUTION_REASONS, outcomeOf, type RunEnd, shellExitCode, signalName } from './outcome';

const limits = { timeoutSeconds: 30, outputBytes: 1 << 20, memory: '512Mi' };
const report = (overrides: Partial<RunEnd> = {}): RunEnd => ({
  exitCode: 0,
  signal: null,
  timedOut: false,
  cancelled: false,
  outputLimited: false,
  oomKilled: false,
  pidsLimited: false,
  wallMs: 12,
  ...overrides,
});

describe('outcomeOf', () => {
  it('completes a program that exited 0: reason exited, no error', () => {
    expect(outcomeOf(report(), limits)).toEqual({ status: 'completed', reason: 'exited', exitCode: 0, signal: null, error: null });
  });

  it('completes a program that exited non-zero, keeping its exit code', () => {
    expect(outcomeOf(report({ exitCode: 3 }), limits)).toMatchObject({ status: 'completed', reason: 'exited', exitCode: 3, error: null });
  });

  it('times out a program killed at the wall-time limit, naming the limit', () => {
    expect(outcomeOf(report({ exitCode: null, signal: 9, timedOut: true }), limits)).toEqual({
      status: 'timeout',
      reason: 'wall_timeout',
      exitCode: 137,
      signal: 'SIGKILL',
      error: 'wall-time limit of 30s exceeded: the program was killed',
    });
  });

  it('fails a program the OOM killer took, naming the memory limit', () => {
    expect(outcomeOf(report({ exitCode: null, signal: 9, oomKilled: true }), limits)).toMatchObject({
      status: 'failed',
      reason: 'memory_limit',
      exitCode: 137,
      error: 'memory limit of 512Mi exceeded: the program was killed by the out-of-memory killer',
    });
  });

  it('fails a program stopped at the output limit, naming the limit', () => {
    expect(outcomeOf(report({ exitCode: null, signal: 9, outputLimited: true }), limits)).toMatchObject({
      status: 'failed',
      reason: 'output_limit',
      error: `output limit exceeded: more than ${1 << 20} bytes on one stream, the program was killed`,
    });
  });

  it('fails a cancelled run with the reason given', () => {
    expect(outcomeOf(report({ exitCode: null, signal: 9, cancelled: true }), limits, 'the session was terminated')).toMatchObject({
      status: 'failed',
      reason: 'cancelled',
      error: 'the session was terminated',
    });
  });

  it('completes a program that died of a signal, naming it and giving 128 + n as exit code', () => {
    expect(outcomeOf(report({ exitCode: null, signal: 11 }), limits)).toEqual({
      status: 'completed',
      reason: 'signal',
      exitCode: 139,
      signal: 'SIGSEGV',
      error: 'terminated by SIGSEGV',
    });
  });

  it('completes a program whose forks the pids limit refused, saying so', () => {
    expect(outcomeOf(report({ exitCode: 1, pidsLimited: true }), limits)).toMatchObject({ status: 'completed', reason: 'pids_limit', exitCode: 1 });
  });

  it.each([
    ['the wall time over everything', { timedOut: true, oomKilled: true, outputLimited: true, cancelled: true, pidsLimited: true }, 'wall_timeout'],
    ['memory over output', { oomKilled: true, outputLimited: true }, 'memory_limit'],
    ['output over a cancellation', { outputLimited: true, cancelled: true }, 'output_limit'],
    ['a cancellation over a signal', { cancelled: true, signal: 9, exitCode: null }, 'cancelled'],
    ['a signal over the pids limit', { signal: 6, exitCode: null, pidsLimited: true }, 'signal'],
  ] as const)('ranks %s', (_what, over, reason) => {
    expect(outcomeOf(report(over), limits).reason).toBe(reason);
  });

  it('knows every reason it gives', () => {
    expect(EXECUTION_REASONS).toEqual(
      expect.arrayContaining(['exited', 'wall_timeout', 'memory_limit', 'output_limit', 'pids_limit', 'signal', 'cancelled', 'sandbox_lost', 'agent_lost', 'compile_error', 'internal']),
    );
  });
});

describe('compileOutcome', () => {
  const compiled = { exitCode: 0, signal: null, timedOut: false, oomKilled: false };
  const limits = { timeoutSeconds: 10, memory: '512Mi' };

  it('lets a program that compiled run on', () => {
    expect(compileOutcome(compiled, limits)).toBeNull();
  });

  it.each([
    ['exited with 1', { exitCode: 1 }, 1, /the compiler exited with 1/],
    ['timed out', { exitCode: null, signal: 9, timedOut: true }, 137, /longer than the wall-time limit of 10s/],
    ['ran out of memory', { exitCode: null, signal: 9, oomKilled: true }, 137, /ran out of memory \(512Mi\)/],
    ['was killed', { exitCode: null, signal: 11 }, 139, /terminated by SIGSEGV/],
    ['left nothing to load', { exitCode: null }, null, /could not be loaded/],
  ] as const)('ends one whose compiler %s with compile_error, completed', (_what, end, exitCode, error) => {
    const outcome = compileOutcome({ ...compiled, ...end }, limits);
    expect(outcome).toMatchObject({ status: 'completed', reason: 'compile_error', exitCode });
    expect(outcome?.error).toMatch(error);
    expect(outcome?.error).toMatch(/compile_output/);
  });
});

describe('shellExitCode', () => {
  it('shows a death by signal n as 128 + n', () => {
    expect(shellExitCode({ exitCode: 3, signal: null })).toBe(3);
    expect(shellExitCode({ exitCode: null, signal: 9 })).toBe(137);
    expect(shellExitCode({ exitCode: null, signal: null })).toBeNull();
  });
});

describe('signalName', () => {
  it.each([
    [9, 'SIGKILL'],
    [15, 'SIGTERM'],
    [11, 'SIGSEGV'],
    [25, 'SIGXFSZ'],
    [40, 'signal 40'],
  ])('names %i as %s', (n, name) => {
    expect(signalName(n)).toBe(name);
  });
});
