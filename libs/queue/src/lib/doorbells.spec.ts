import { parseJob } from './catalog';
import { executionDoorbell, waitingOf } from './doorbells';

describe('executionDoorbell', () => {
  const waiting = { id: 'exec_01J0ABCDEF', sessionId: 'sess_1', attempt: 2 };

  it("rings the node holding the session, on that node's queue", () => {
    expect(executionDoorbell(waiting, 'node-1')).toEqual({
      kind: 'node',
      nodeId: 'node-1',
      jobId: 'exec_01J0ABCDEF-2',
      data: { execution_id: 'exec_01J0ABCDEF', session_id: 'sess_1', attempt: 2 },
    });
  });

  it('rings the shared queue while no node holds the session', () => {
    expect(executionDoorbell(waiting, null)).toEqual({ kind: 'shared', jobId: 'exec_01J0ABCDEF-2', data: { execution_id: 'exec_01J0ABCDEF', session_id: 'sess_1', attempt: 2 } });
  });

  it('has one job id per attempt, the same wherever it rings, without the colon BullMQ refuses', () => {
    const next = { ...waiting, attempt: 3 };
    expect(executionDoorbell(next, null).jobId).not.toBe(executionDoorbell(waiting, null).jobId);
    expect(executionDoorbell(waiting, 'a').jobId).toBe(executionDoorbell(waiting, null).jobId);
    expect(executionDoorbell(waiting, 'a').jobId).not.toContain(':');
  });

  it('carries a payload the catalog accepts, ids only, and leads back to the same execution', () => {
    const { data } = executionDoorbell(waiting, 'node-1');
    expect(parseJob('node', 'run-execution', data)).toEqual(data);
    expect(waitingOf(data)).toEqual(waiting);
  });
});
