import { IllegalTransitionError, transition } from './transition';

type Light = 'red' | 'amber' | 'green';
const LIGHTS: readonly Light[] = ['red', 'amber', 'green'];

describe('transition', () => {
  const go = transition<Light>('go', ['red', 'amber'], 'green');

  it('returns the target status from every allowed status', () => {
    expect(go.apply('red')).toBe('green');
    expect(go.apply('amber')).toBe('green');
  });

  it('throws an IllegalTransitionError naming the transition and the status otherwise', () => {
    let caught: unknown;
    try {
      go.apply('green');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(IllegalTransitionError);
    expect(caught).toMatchObject({ name: 'IllegalTransitionError', transition: 'go', current: 'green', message: "cannot go from status 'green'" });
  });

  it('exposes its name, from and to', () => {
    expect(go.name).toBe('go');
    expect(go.from).toEqual(['red', 'amber']);
    expect(go.to).toBe('green');
  });

  it('is frozen, its from list included', () => {
    expect(Object.isFrozen(go)).toBe(true);
    expect(Object.isFrozen(go.from)).toBe(true);
    expect(() => (go.from as Light[]).push('green')).toThrow(TypeError);
  });

  it('keeps its own copy of the from list', () => {
    const from: Light[] = ['red'];
    const stop = transition<Light>('stop', from, 'red');
    expect(stop.from).not.toBe(from);
    expect(stop.from).toEqual(['red']);
  });

  it('allows a transition to its own status when that status is in from', () => {
    const hold = transition<Light>('hold', LIGHTS, 'red');
    for (const light of LIGHTS) expect(hold.apply(light)).toBe('red');
  });
});
