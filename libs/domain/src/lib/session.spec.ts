import { bindSession, expireSession, failSession, isSessionLive, SESSION_STATUSES, type SessionStatus, terminateSession } from './session';
import { IllegalTransitionError, type Transition } from './transition';

const TABLE: readonly [Transition<SessionStatus>, readonly SessionStatus[], SessionStatus][] = [
  [bindSession, ['creating', 'running'], 'running'],
  [terminateSession, ['creating', 'running'], 'terminated'],
  [expireSession, ['creating', 'running'], 'timeout'],
  [failSession, ['creating', 'running'], 'failed'],
];

describe('session state machine', () => {
  describe.each(TABLE.map(([t, from, to]) => ({ name: t.name, t, from, to })))('$name', ({ t, from, to }) => {
    it(`is declared from [${from.join(', ')}] to ${to}`, () => {
      expect([...t.from].sort()).toEqual([...from].sort());
      expect(t.to).toBe(to);
    });

    it.each(SESSION_STATUSES.filter((s) => from.includes(s)))(`moves %s to ${to}`, (status) => {
      expect(t.apply(status)).toBe(to);
    });

    it.each(SESSION_STATUSES.filter((s) => !from.includes(s)))('refuses %s with an IllegalTransitionError', (status) => {
      expect(() => t.apply(status)).toThrow(IllegalTransitionError);
    });
  });

  it('leaves no way out of a finished session', () => {
    const finished = SESSION_STATUSES.filter((s) => s !== 'creating' && s !== 'running');
    expect(finished).toEqual(['completed', 'failed', 'timeout', 'terminated']);
    for (const status of finished) {
      for (const [t] of TABLE) expect(() => t.apply(status)).toThrow(IllegalTransitionError);
    }
  });
});

describe('isSessionLive', () => {
  it.each(SESSION_STATUSES.map((s) => [s, s === 'creating' || s === 'running'] as const))('%s → %s', (status, live) => {
    expect(isSessionLive(status)).toBe(live);
  });
});
