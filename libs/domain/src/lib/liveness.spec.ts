import { lostExecutionFate, mayDeclareLoss } from './liveness';

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
});
