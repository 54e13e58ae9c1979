import {
  completeExecution,
  crashExecution,
  EXECUTION_STATUSES,
  type ExecutionStatus,
  cancelExecution,
  failExecution,
  isExecutionTerminal,
  retryExecution,
  startExecution,
  timeOutExecution,
} from './execution';
import { IllegalTransitionError, type Transition } from './transition';

const TABLE: readonly [Transition<ExecutionStatus>, readonly ExecutionStatus[], ExecutionStatus][] = [
  [startExecution, ['pending'], 'running'],
  [completeExecution, ['running'], 'completed'],
  [timeOutExecution, ['running'], 'timeout'],
  [failExecution, ['running'], 'failed'],
  [cancelExecution, ['pending'], 'failed'],
  [crashExecution, ['running'], 'crashed'],
  [retryExecution, ['running'], 'pending'],
];

describe('execution state machine', () => {
  describe.each(TABLE.map(([t, from, to]) => ({ name: t.name, t, from, to })))('$name', ({ t, from, to }) => {
    it(`is declared from [${from.join(', ')}] to ${to}`, () => {
      expect([...t.from].sort()).toEqual([...from].sort());
      expect(t.to).toBe(to);
    });

    it.each(EXECUTION_STATUSES.filter((s) => from.includes(s)))(`moves %s to ${to}`, (status) => {
      expect(t.apply(status)).toBe(to);
    });

    it.each(EXECUTION_STATUSES.filter((s) => !from.includes(s)))('refuses %s with an IllegalTransitionError', (status) => {
      expect(() => t.apply(status)).toThrow(IllegalTransitionError);
    });
  });

  it('leaves no way out of a terminal execution', () => {
    for (const status of EXECUTION_STATUSES.filter(isExecutionTerminal)) {
      for (const [t] of TABLE) expect(() => t.apply(status)).toThrow(IllegalTransitionError);
    }
  });

  it('reaches every terminal status from running', () => {
    const reached = TABLE.filter(([t]) => t.from.includes('running')).map(([t]) => t.to);
    expect(reached.filter(isExecutionTerminal).sort()).toEqual(['completed', 'crashed', 'failed', 'timeout']);
  });
});

describe('isExecutionTerminal', () => {
  it.each(EXECUTION_STATUSES.map((s) => [s, s !== 'pending' && s !== 'running'] as const))('%s → %s', (status, terminal) => {
    expect(isExecutionTerminal(status)).toBe(terminal);
  });
});
