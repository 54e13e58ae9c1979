import { deleteQueueKeys, stackEnv, testQueuePrefix } from '@sandbox/testing';
import { type Job, type Worker } from 'bullmq';
import { executionJobId, nodeQueueName, type RunExecutionJob } from './catalog';
import { ExecutionEventsListener, ExecutionEventsPublisher, type ExecutionFinished } from './execution-events';
import { QueueProducer } from './queue-producer';
import { createWorker } from './worker-factory';

describe('queue catalog on real Redis', () => {
  const prefix = testQueuePrefix('queue');
  const settings = { redisUrl: stackEnv().REDIS_URL, prefix };
  const producer = new QueueProducer(settings);
  const workers: Worker[] = [];

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.close()));
    await producer.close();
    await deleteQueueKeys(prefix);
  });

  it('round-trips a typed job through a node queue to its handler, payload parsed', async () => {
    const received = new Promise<{ data: RunExecutionJob; job: Job }>((resolve) => {
      workers.push(
        createWorker(
          'node',
          nodeQueueName('n1'),
          {
            'run-execution': async (data, job) => resolve({ data, job }),
            'terminate-session': async () => undefined,
          },
          settings,
        ),
      );
    });
    const data = { execution_id: 'exec_1', session_id: 'sess_1', attempt: 1 };
    await producer.add('node', 'run-execution', data, { nodeId: 'n1', jobId: executionJobId('exec_1', 1) });
    const { data: got, job } = await received;
    expect(got).toEqual(data);
    expect(job.id).toBe('exec_1-1');
    expect(job.opts.attempts).toBe(5);
  });

  it('deduplicates by job id: the same attempt enqueued twice is one job', async () => {
    const data = { session_id: 'sess_dup' };
    await producer.add('shared', 'place-session', data, { jobId: 'place-sess_dup' });
    await producer.add('shared', 'place-session', data, { jobId: 'place-sess_dup' });
    expect(await producer.queue('sandbox-shared').getJobCountByTypes('waiting', 'active', 'completed')).toBe(1);
  });

  it('refuses a payload that does not match the catalog before it reaches Redis', async () => {
    await expect(
      producer.add('shared', 'place-session', { session_id: 'x', code: 'print(1)' } as never, { jobId: 'bad' }),
    ).rejects.toThrow(/code/);
  });

  it('delivers execution-finished events from an agent to a listener', async () => {
    const events: ExecutionFinished[] = [];
    const listener = new ExecutionEventsListener(settings, (e) => events.push(e));
    const publisher = new ExecutionEventsPublisher(settings);
    try {
      await listener.waitUntilReady();
      // the listener reads from "now" once its first blocking read is issued, a moment after it is
      // ready: events of that moment are missed by design (waiters re-read MariaDB), so publish until heard
      for (let i = 0; i < 100 && !events.length; i++) {
        await publisher.finished({ execution_id: 'exec_9', status: 'completed' });
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      await Promise.all([publisher.close(), listener.close()]);
    }
    expect(events.length).toBeGreaterThan(0);
    expect(new Set(events.map((e) => JSON.stringify(e)))).toEqual(new Set([JSON.stringify({ execution_id: 'exec_9', status: 'completed' })]));
  });
});
