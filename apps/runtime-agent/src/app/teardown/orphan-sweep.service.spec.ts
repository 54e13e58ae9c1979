import { ManualClock } from '@sandbox/domain';
import { isOrphan } from './orphan-sweep.service';

describe('isOrphan', () => {
  const clock = new ManualClock();
  const made = (secondsAgo: number, containerId = 'c1') => ({ containerId, createdAt: clock.now() / 1000 - secondsAgo });

  it('is a container nothing owns, a minute old or more', () => {
    expect(isOrphan(made(60), new Set(), clock.now())).toBe(true);
    expect(isOrphan(made(3600), new Set(['other']), clock.now())).toBe(true);
  });

  it('spares a container that may still be being made (under a minute old)', () => {
    const young = made(59);
    expect(isOrphan(young, new Set(), clock.now())).toBe(false);
    clock.advance(1000);
    expect(isOrphan(young, new Set(), clock.now())).toBe(true);
  });

  it('spares a container a session or the warm pool owns, however old', () => {
    expect(isOrphan(made(86_400), new Set(['c1']), clock.now())).toBe(false);
  });
});
