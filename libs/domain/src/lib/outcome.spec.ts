import { outcomeOf, type RunEnd, signalName } from './outcome';

const limits = { timeoutSeconds: 30, outputBytes: 1 << 20 };
const report = (overrides: Partial<RunEnd> = {}): RunEnd => ({
  exitCode: 0,
  signal: null,
  timedOut: false,
  cancelled: false,
  outputLimited: false,
  wallMs: 12,
  ...overrides,
});

describe('outcomeOf', () => {
  it('completes a program that exited 0 with no error', () => {
    expect(outcomeOf(report(), limits)).toEqual({ status: 'completed', exitCode: 0, error: null });
  });

  it('completes a program that exited non-zero, keeping its exit code', () => {
    expect(outcomeOf(report({ exitCode: 3 }), limits)).toEqual({ status: 'completed', exitCode: 3, error: null });
  });

  it('times out a program killed at the wall-time limit, naming the limit', () => {
    const outcome = outcomeOf(report({ exitCode: null, signal: 9, timedOut: true }), limits);
    expect(outcome.status).toBe('timeout');
    expect(outcome.exitCode).toBe(137);
    expect(outcome.error).toContain('30s');
    expect(outcome.error).toMatch(/wall-time limit/);
  });

  it('fails a program stopped by the output limit, naming the limit', () => {
    const outcome = outcomeOf(report({ exitCode: null, signal: 9, outputLimited: true }), limits);
    expect(outcome.status).toBe('failed');
    expect(outcome.exitCode).toBe(137);
    expect(outcome.error).toContain(String(1 << 20));
    expect(outcome.error).toMatch(/output limit/);
  });

  it('fails a cancelled program with the cancel reason', () => {
    expect(outcomeOf(report({ exitCode: null, signal: 15, cancelled: true }), limits, 'session terminated')).toEqual({
      status: 'failed',
      exitCode: 143,
      error: 'session terminated',
    });
  });

  it("fails a cancelled program with 'cancelled' when no reason is given", () => {
    expect(outcomeOf(report({ cancelled: true }), limits).error).toBe('cancelled');
  });

  it('completes a program killed by SIGSEGV with exit code 139, naming the signal', () => {
    const outcome = outcomeOf(report({ exitCode: null, signal: 11 }), limits);
    expect(outcome.status).toBe('completed');
    expect(outcome.exitCode).toBe(139);
    expect(outcome.error).toContain('SIGSEGV');
  });

  it('prefers a reported exit code over 128 + signal', () => {
    expect(outcomeOf(report({ exitCode: 1, signal: 6 }), limits)).toMatchObject({ status: 'completed', exitCode: 1 });
  });

  it('leaves the exit code null when neither exit code nor signal is known', () => {
    expect(outcomeOf(report({ exitCode: null }), limits).exitCode).toBeNull();
  });

  it('ranks timeout over output limit over cancellation', () => {
    expect(outcomeOf(report({ timedOut: true, outputLimited: true, cancelled: true }), limits).status).toBe('timeout');
    const limited = outcomeOf(report({ outputLimited: true, cancelled: true }), limits, 'stop');
    expect(limited.status).toBe('failed');
    expect(limited.error).toMatch(/output limit/);
  });
});

describe('signalName', () => {
  it.each([
    [9, 'SIGKILL'],
    [11, 'SIGSEGV'],
    [15, 'SIGTERM'],
    [25, 'SIGXFSZ'],
  ])('names signal %d %s', (signal, name) => {
    expect(signalName(signal)).toBe(name);
  });

  it('falls back to the number for an unnamed signal', () => {
    expect(signalName(40)).toBe('signal 40');
  });
});
