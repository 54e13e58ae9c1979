import { ZodError } from 'zod';
import {
  cancelExecutionJob,
  deliverWebhookJob,
  stopContextJob,
  type JobName,
  nodeQueueName,
  parseJob,
  placeSessionJob,
  QUEUES,
  type QueueKind,
  queueName,
  REAPER_QUEUE,
  reaperTickJob,
  runExecutionJob,
  SHARED_QUEUE,
  terminateSessionJob,
  UnknownJobError,
  WEBHOOKS_QUEUE,
} from './catalog';

const anyJob = <K extends QueueKind>(name: string) => name as JobName<K>;

describe('parseJob', () => {
  it('accepts a valid payload of every job', () => {
    expect(parseJob('shared', 'place-session', { session_id: 'sess_1' })).toEqual({ session_id: 'sess_1' });
    expect(parseJob('shared', 'run-execution', { execution_id: 'exe-1', session_id: 'sess-1', attempt: 1 })).toEqual({
      execution_id: 'exe-1',
      session_id: 'sess-1',
      attempt: 1,
    });
    expect(parseJob('node', 'run-execution', { execution_id: 'e', session_id: 's', attempt: 3 })).toEqual({ execution_id: 'e', session_id: 's', attempt: 3 });
    expect(parseJob('node', 'terminate-session', { session_id: '01J0ABCDEF' })).toEqual({ session_id: '01J0ABCDEF' });
    expect(parseJob('node', 'cancel-execution', { execution_id: 'e', session_id: 's' })).toEqual({ execution_id: 'e', session_id: 's' });
  });

  it('rejects a payload with an extra key', () => {
    expect(() => parseJob('shared', 'place-session', { session_id: 's', code: 'print(1)' })).toThrow(ZodError);
    expect(() => parseJob('node', 'run-execution', { execution_id: 'e', session_id: 's', attempt: 1, stdin: '' })).toThrow(ZodError);
    expect(() => parseJob('node', 'terminate-session', { session_id: 's', reason: 'x' })).toThrow(ZodError);
    expect(() => parseJob('node', 'cancel-execution', { execution_id: 'e', session_id: 's', reason: 'x' })).toThrow(ZodError);
  });

  it.each([
    ['a missing id', {}],
    ['an empty id', { session_id: '' }],
    ['an id over 64 characters', { session_id: 'x'.repeat(65) }],
    ['an id with a colon', { session_id: 'a:b' }],
    ['an id with a space', { session_id: 'a b' }],
    ['a numeric id', { session_id: 1 }],
    ['null', null],
    ['a string', 'sess-1'],
  ])('rejects %s', (_what, data) => {
    expect(() => parseJob('shared', 'place-session', data)).toThrow(ZodError);
  });

  it('accepts an id of 64 characters', () => {
    expect(parseJob('shared', 'place-session', { session_id: 'x'.repeat(64) }).session_id).toHaveLength(64);
  });

  it.each([0, -1, 1.5, '1', null])('rejects attempt %j', (attempt) => {
    expect(() => parseJob('shared', 'run-execution', { execution_id: 'e', session_id: 's', attempt })).toThrow(ZodError);
  });

  it('rejects a job name its queue does not carry with an UnknownJobError', () => {
    expect(() => parseJob('shared', anyJob<'shared'>('terminate-session'), { session_id: 's' })).toThrow(UnknownJobError);
    expect(() => parseJob('node', anyJob<'node'>('place-session'), { session_id: 's' })).toThrow(UnknownJobError);
    expect(() => parseJob('node', anyJob<'node'>('nope'), {})).toThrow("queue 'node' has no job 'nope'");
  });

  it('names the error UnknownJobError', () => {
    const error = new UnknownJobError('shared', 'x');
    expect(error.name).toBe('UnknownJobError');
    expect(error).toBeInstanceOf(Error);
  });
});

describe('job payloads', () => {
  const schemas = Object.values(QUEUES).flatMap((queue) => Object.values(queue.jobs));

  it('cover every job of the catalog', () => {
    expect(new Set(schemas)).toEqual(new Set([placeSessionJob, runExecutionJob, cancelExecutionJob, stopContextJob, terminateSessionJob, reaperTickJob, deliverWebhookJob]));
  });

  it('carry ids only: no code, stdin or env vars', () => {
    for (const schema of schemas) {
      const fields = Object.keys(schema.shape);
      for (const forbidden of ['code', 'stdin', 'env_vars', 'env', 'envVars']) expect(fields).not.toContain(forbidden);
      for (const field of fields) expect(field === 'attempt' || field.endsWith('_id')).toBe(true);
    }
  });
});

describe('queue names', () => {
  it("names the reaper's queue and the webhooks' queue", () => {
    expect(queueName('reaper')).toBe(REAPER_QUEUE);
    expect(queueName('webhooks')).toBe(WEBHOOKS_QUEUE);
  });

  it('names the shared queue', () => {
    expect(queueName('shared')).toBe(SHARED_QUEUE);
    expect(queueName('shared', 'node-1')).toBe('sandbox-shared');
  });

  it('names one queue per node', () => {
    expect(nodeQueueName('node-1')).toBe('sandbox-node-node-1');
    expect(queueName('node', 'node-1')).toBe(nodeQueueName('node-1'));
    expect(queueName('node', 'a')).not.toBe(queueName('node', 'b'));
  });

  it('refuses a node queue without a node id', () => {
    expect(() => queueName('node')).toThrow(/node id/);
    expect(() => queueName('node', '')).toThrow(/node id/);
  });
});

describe('QUEUES', () => {
  it('retries doorbells with backoff', () => {
    for (const queue of [QUEUES.shared, QUEUES.node]) {
      expect(queue.jobOptions.attempts).toBeGreaterThan(1);
      expect(queue.jobOptions.backoff).toMatchObject({ type: 'exponential' });
    }
  });

  it('never retries or redelivers a reaper tick: the next tick does the same work', () => {
    expect(QUEUES.reaper.jobOptions.attempts).toBe(1);
    expect(QUEUES.reaper.worker.maxStalledCount).toBe(0);
  });

  it('bounds what finished jobs keep', () => {
    for (const queue of Object.values(QUEUES)) {
      expect(queue.jobOptions.removeOnComplete.count).toBeGreaterThan(0);
      expect(queue.jobOptions.removeOnFail.count).toBeGreaterThan(0);
    }
  });
});
