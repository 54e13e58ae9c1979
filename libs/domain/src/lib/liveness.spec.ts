import { ManualClock } from './clock';
import { FenceDeadline, lostExecutionFate, mayDeclareLoss } from './liveness';

describe('mayDeclareLoss', () => {
  const view = (nodeAges: number[], watchingFor: number | null = 60) => ({ nodeAges, watchingFor, staleAfter: 10 });

  it('declares loss when some nodes are fresh: the database is evidently fine', () => {
    expect(mayDeclareLoss(view([1, 2, 45]))).toBe(true);
  });

  it('waits while every node looks stale, until even the freshest is two thresholds old', () => {
    expect(mayDeclareLoss(view([11, 30]))).toBe(false);
    expect(mayDeclareLoss(view([19.9]))).toBe(false);
    expect(mayDeclareLoss(view([20, 35]))).toBe(true);
  });

  it('waits a full threshold after the reaper starts or recovers from a failed tick', () => {
    expect(mayDeclareLoss(view([1, 45], null))).toBe(false);
    expect(mayDeclareLoss(view([1, 45], 9))).toBe(false);
    expect(mayDeclareLoss(view([1, 45], 10))).toBe(true);
  });

  it('has nothing to protect when no node is live', () => {
    expect(mayDeclareLoss(view([]))).toBe(true);
  });
});

describe('lostExecutionFate', () => {
  it.each([
    [0, 2, 'retry'],
    [1, 2, 'retry'],
    [2, 2, 'crash'],
    [0, 0, 'crash'],
  ] as const)('retry_count %i with at most %i retries → %s', (count, max, fate) => {
    expect(lostExecutionFate(count, max)).toBe(fate);
  });

  it('never retries one a client asked to cancel', () => {
    expect(lostExecutionFate(0, 2, true)).toBe('cancel');
  });
});

describe('FenceDeadline', () => {
  it('passes the margin before a whole threshold without a beat getting through, not before', () => {
    const clock = new ManualClock();
    const deadline = new FenceDeadline(clock, 10, 2000);
    clock.advance(7_999);
    expect(deadline.passed()).toBe(false);
    clock.advance(1);
    expect(deadline.passed()).toBe(true);
  });

  it('counts from when a beat was sent, not from when its answer came back', () => {
    const clock = new ManualClock();
    const deadline = new FenceDeadline(clock, 10, 2000);
    clock.advance(1_000);
    const sentAt = clock.monotonic();
    // a slow answer: the database may have stamped it right after the send
    clock.advance(6_000);
    deadline.beatGotThrough(sentAt);
    expect(deadline.until()).toBe(sentAt + 8_000);
    clock.advance(2_000);
    expect(deadline.passed()).toBe(true);
  });

  it('moves on with every beat that gets through, never back with a late answer to an older beat', () => {
    const clock = new ManualClock();
    const deadline = new FenceDeadline(clock, 10, 2000);
    const first = clock.monotonic();
    for (let i = 0; i < 5; i++) {
      clock.advance(7_000);
      deadline.beatGotThrough(clock.monotonic());
    }
    deadline.beatGotThrough(first);
    clock.advance(7_999);
    expect(deadline.passed()).toBe(false);
  });

  it('reads only the monotonic clock: a wall-clock step changes nothing', () => {
    const clock = new ManualClock();
    const deadline = new FenceDeadline(clock, 10, 2000);
    clock.stepWall(-3_600_000);
    expect(deadline.passed()).toBe(false);
  });
});
