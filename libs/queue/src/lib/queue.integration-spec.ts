import { type WaitingExecution } from '@sandbox/domain';
import { deleteQueueKeys, stackEnv, testQueuePrefix } from '@sandbox/testing';
import { Redis } from 'ioredis';
import { type JobData, nodeQueueName } from './catalog';
import { Doorbells, NodeDoorbellListener } from './doorbells';
import { ExecutionEventsListener, ExecutionEventsPublisher, type ExecutionFinished } from './execution-events';
import { OutageGuard } from './outage-guard';
import { QueueProducer } from './queue-producer';
import { type JobContext, QueueWorker } from './queue-worker';
import { RateLimitStore } from './rate-limit-store';

describe('queue catalog on real Redis', () => {
  const prefix = testQueuePrefix('queue');
  const settings = { redisUrl: stackEnv().REDIS_URL, prefix };
  const producer = new QueueProducer(settings);
  const doorbells = new Doorbells(producer);
  const workers: QueueWorker[] = [];

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.close()));
    await producer.close();
    await deleteQueueKeys(prefix);
  });

  it("round-trips an execution's doorbell through its node's queue to the handler, payload parsed", async () => {
    const taken: number[] = [];
    const received = new Promise<{ data: JobData<'node', 'run-execution'>; job: JobContext }>((resolve) => {
      workers.push(
        QueueWorker.start(
          'node',
          { 'run-execution': async (data, job) => resolve({ data, job }), 'cancel-execution': async () => undefined, 'stop-context': async () => undefined, 'terminate-session': async () => undefined },
          settings,
          { nodeId: 'n1', onTaken: (s) => taken.push(s) },
        ),
      );
    });
    await doorbells.execution({ id: 'exec_1', sessionId: 'sess_1', attempt: 1 }, 'n1');
    const { data, job } = await received;
    expect(data).toEqual({ execution_id: 'exec_1', session_id: 'sess_1', attempt: 1 });
    expect(job.id).toBe('exec_1-1');
    expect(taken).toEqual([job.waitedSeconds]);
    expect((await producer.queue(nodeQueueName('n1')).getJob('exec_1-1'))?.opts.attempts).toBe(5);
  });

  it('hands a job back for later: delayed, then taken again, neither completed nor failed', async () => {
    let calls = 0;
    const failed: string[] = [];
    const done = new Promise<void>((resolve) => {
      workers.push(
        QueueWorker.start(
          'node',
          {
            'run-execution': async () => undefined,
            'cancel-execution': async () => undefined,
            'stop-context': async () => undefined,
            'terminate-session': async (_data, job) => {
              if (++calls === 1) return job.handBack(50);
              resolve();
            },
          },
          settings,
          { nodeId: 'n2', onFailed: (name) => failed.push(name) },
        ),
      );
    });
    await doorbells.termination('sess_2', 'n2');
    await done;
    expect(calls).toBe(2);
    expect(failed).toEqual([]);
  });

  it('rings a doorbell again only once the previous one is finished', async () => {
    const w = { id: 'exec_again', sessionId: 'sess_3', attempt: 1 };
    await doorbells.execution(w, 'idle-node');
    expect(await doorbells.executionAgain(w, 'idle-node')).toBe(false);
    await doorbells.dropNodeQueue('idle-node');
    expect(await doorbells.executionAgain(w, 'idle-node')).toBe(true);
    expect(await producer.queue(nodeQueueName('idle-node')).getJobCountByTypes('waiting')).toBe(1);
  });

  it('publishes an execution doorbell to a node that listens, with no job; after a cut it hears again; stopped, its queue gets it', async () => {
    const heard: WaitingExecution[] = [];
    const next = () => new Promise<WaitingExecution>((resolve) => (onHeard = resolve));
    let onHeard: (w: WaitingExecution) => void = () => undefined;
    let reconnected!: () => void;
    const back = new Promise<void>((resolve) => (reconnected = resolve));
    const ear = new NodeDoorbellListener(settings, 'ear-node', (w) => (heard.push(w), onHeard(w)), () => reconnected());
    await ear.start();
    const queue = producer.queue(nodeQueueName('ear-node'));
    const w1 = { id: 'exec_ear1', sessionId: 'sess_ear', attempt: 2 };
    let arrival = next();
    await doorbells.execution(w1, 'ear-node');
    expect(await arrival).toEqual(w1);
    expect(await queue.getJobCountByTypes('waiting', 'active', 'completed', 'delayed')).toBe(0);

    // Redis drops the listener's connection: it reconnects, says so (the agent then kicks every run
    // loop), and hears the next one; what else is published on its channel is ignored
    const admin = new Redis(settings.redisUrl);
    const clients = (await admin.call('CLIENT', 'LIST', 'TYPE', 'pubsub')) as string;
    const id = clients.split('\n').find((l) => l.includes(' name=doorbells-ear-node '))!.match(/^id=(\d+)/)![1]!;
    await admin.call('CLIENT', 'KILL', 'ID', id);
    await back;
    await producer.publish('doorbell:ear-node', 'not json');
    await producer.publish('doorbell:ear-node', JSON.stringify({ execution_id: 'exec_x' }));
    const w2 = { id: 'exec_ear2', sessionId: 'sess_ear', attempt: 1 };
    arrival = next();
    await doorbells.execution(w2, 'ear-node');
    expect(await arrival).toEqual(w2);
    expect(heard).toEqual([w1, w2]);

    await ear.close();
    await admin.quit();
    await doorbells.execution(w1, 'ear-node');
    expect(heard).toEqual([w1, w2]);
    expect((await queue.getJob('exec_ear1-2'))?.data).toEqual({ execution_id: 'exec_ear1', session_id: 'sess_ear', attempt: 2 });
  });

  it('deduplicates by job id: the same attempt enqueued twice is one job', async () => {
    await doorbells.placement('sess_dup');
    await doorbells.placement('sess_dup');
    expect(await producer.queue('sandbox-shared').getJobCountByTypes('waiting', 'active', 'completed')).toBe(1);
  });

  it("lists the nodes with a queue, and obliterates a dead node's queue only once no worker is connected to it", async () => {
    await doorbells.execution({ id: 'exec_d', sessionId: 'sess_d', attempt: 1 }, 'n-dead');
    let worker!: QueueWorker;
    // the worker has taken a job: it is connected
    await new Promise<void>((taken) => {
      worker = QueueWorker.start('node', { 'run-execution': async () => taken(), 'cancel-execution': async () => undefined, 'stop-context': async () => undefined, 'terminate-session': async () => undefined }, settings, { nodeId: 'n-back' });
      void doorbells.execution({ id: 'exec_b', sessionId: 'sess_b', attempt: 1 }, 'n-back');
    });
    expect(await producer.nodeQueueIds()).toEqual(expect.arrayContaining(['n-dead', 'n-back']));
    expect(await producer.obliterateNodeQueue('n-back')).toBe(false);
    expect(await producer.obliterateNodeQueue('n-dead')).toBe(true);
    expect(await producer.nodeQueueIds()).not.toContain('n-dead');
    expect(await producer.queue(nodeQueueName('n-dead')).getJob('exec_d-1')).toBeUndefined();
    // once its worker left, the queue goes
    await worker.close();
    expect(await producer.obliterateNodeQueue('n-back')).toBe(true);
    expect(await producer.nodeQueueIds()).not.toContain('n-back');
  });

  it('refuses a payload that does not match the catalog before it reaches Redis', async () => {
    await expect(
      producer.add('shared', 'place-session', { session_id: 'x', code: 'print(1)' } as never, { jobId: 'bad' }),
    ).rejects.toThrow(/code/);
  });

  it('keeps the outage guard in Redis: the watch starts once, counts up, and starts over when forgotten', async () => {
    const guard = new OutageGuard(producer, prefix);
    const other = new OutageGuard(producer, prefix);
    expect(await guard.watchingFor(1000)).toBe(0);
    expect(await other.watchingFor(1012.5)).toBe(12.5);
    await guard.forget();
    expect(await other.watchingFor(1020)).toBe(0);
  });

  it('counts requests per key and window in Redis, shared by every store on the prefix', async () => {
    const limit = { points: 2, windowSeconds: 60, timeoutMs: 1000 };
    const a = new RateLimitStore(settings, limit);
    const b = new RateLimitStore(settings, limit);
    try {
      await Promise.all([a.ready(), b.ready()]);
      expect(await a.consume('key_1')).toMatchObject({ allowed: true, remaining: 1 });
      expect(await b.consume('key_1')).toMatchObject({ allowed: true, remaining: 0 });
      const over = await a.consume('key_1');
      expect(over).toMatchObject({ allowed: false, remaining: 0 });
      expect(over.msBeforeReset).toBeGreaterThan(0);
      expect(await a.consume('key_2')).toMatchObject({ allowed: true, remaining: 1 });
    } finally {
      a.close();
      b.close();
    }
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
