import { type WaitingExecution } from '@sandbox/domain';
import { Redis } from 'ioredis';
import { type JobData, nodeQueueName, type QueueKind, runExecutionJob } from './catalog';
import { closeRedis, redisOptions } from './connection';
import { type QueueProducer, type QueueSettings } from './queue-producer';

/** The channel a node listens on for the execution doorbells of the sessions it holds (after the prefix). */
const nodeChannel = (nodeId: string) => `doorbell:${nodeId}`;

/** Where an execution's doorbell goes and under which job id: the one rule every producer follows. */
export interface ExecutionDoorbell {
  readonly kind: Extract<QueueKind, 'shared' | 'node'>;
  /** The node whose queue it goes to; absent on the shared queue. */
  readonly nodeId?: string;
  readonly jobId: string;
  readonly data: JobData<'node', 'run-execution'>;
}

/**
 * The doorbell of one attempt: on the queue of the node holding the session, or on the shared queue
 * while no node does. One job id per attempt (DESIGN.md §7): BullMQ keeps at most one doorbell per
 * attempt, and the next attempt, rung by the reaper, is never swallowed by the previous one's.
 */
export function executionDoorbell(w: WaitingExecution, node: string | null): ExecutionDoorbell {
  const data = { execution_id: w.id, session_id: w.sessionId, attempt: w.attempt };
  const jobId = `${w.id}-${w.attempt}`;
  return node ? { kind: 'node', nodeId: node, jobId, data } : { kind: 'shared', jobId, data };
}

/** The execution a doorbell rings for. */
export function waitingOf(data: JobData<'node', 'run-execution'>): WaitingExecution {
  return { id: data.execution_id, sessionId: data.session_id, attempt: data.attempt };
}

/**
 * Every doorbell the platform rings, decided here once: the control plane rings when it accepts work,
 * agents when they forward it to the node holding a session, the reaper when a doorbell may be lost.
 * Doorbells carry ids only and may arrive twice or late: the database decides what runs.
 */
export class Doorbells {
  constructor(private readonly producer: QueueProducer) {}

  /**
   * The first doorbell of an attempt (accepted, or forwarded to the node that holds its session). A
   * node that listens (NodeDoorbellListener) hears it published: one Redis command instead of a job's
   * scripts. A node that does not (restarting, reconnecting) gets it on its queue, where it waits.
   * A published one is lost only with its node or its connection; the reaper rings an execution left
   * pending again, on the queue.
   */
  async execution(w: WaitingExecution, node: string | null): Promise<void> {
    const d = executionDoorbell(w, node);
    if (d.nodeId && (await this.producer.publish(nodeChannel(d.nodeId), JSON.stringify(d.data)).catch(() => 0)) > 0) return;
    await this.producer.add(d.kind, 'run-execution', d.data, { jobId: d.jobId, nodeId: d.nodeId });
  }

  /** Rings again when the doorbell may be lost; nothing while one still waits. True when one was added. */
  executionAgain(w: WaitingExecution, node: string | null): Promise<boolean> {
    const d = executionDoorbell(w, node);
    return this.producer.ring(d.kind, 'run-execution', d.data, { jobId: d.jobId, nodeId: d.nodeId });
  }

  /** Queues the delivery of an ended execution's webhook (once: a second ask while it is kept adds nothing). */
  async webhook(executionId: string): Promise<void> {
    await this.producer.add('webhooks', 'deliver-webhook', { execution_id: executionId }, { jobId: `webhook-${executionId}` });
  }

  /** Asks any node with room to place a new session. */
  async placement(sessionId: string): Promise<void> {
    await this.producer.add('shared', 'place-session', { session_id: sessionId }, { jobId: `place-${sessionId}` });
  }

  /** Rings a waiting session's placement doorbell again (Redis may have lost it); true when one was added. */
  placementAgain(sessionId: string): Promise<boolean> {
    return this.producer.ring('shared', 'place-session', { session_id: sessionId }, { jobId: `place-${sessionId}` });
  }

  /**
   * Asks the node holding an ended session to stop its run and remove its container. `again`: the
   * session may have been asked before (the reaper), so a finished doorbell is replaced, not deduplicated.
   */
  async termination(sessionId: string, node: string, again = false): Promise<void> {
    const opts = { jobId: `terminate-${sessionId}`, nodeId: node };
    if (again) await this.producer.ring('node', 'terminate-session', { session_id: sessionId }, opts);
    else await this.producer.add('node', 'terminate-session', { session_id: sessionId }, opts);
  }

  /**
   * Asks the node running an execution to stop it (a client's cancel, already marked in MariaDB). A
   * lost one changes nothing: the run's lease ends it with its agent, and the reaper never retries it.
   */
  async cancellation(executionId: string, sessionId: string, node: string): Promise<void> {
    await this.producer.add('node', 'cancel-execution', { execution_id: executionId, session_id: sessionId }, { jobId: `cancel-${executionId}`, nodeId: node });
  }

  /** Asks the node holding a session to stop a deleted context's interpreter (it frees the memory). */
  async contextStop(contextId: string, sessionId: string, node: string): Promise<void> {
    await this.producer.add('node', 'stop-context', { context_id: contextId, session_id: sessionId }, { jobId: `stop-${contextId}`, nodeId: node });
  }

  /** Drops the doorbells waiting on a lost node's queue: nobody takes them now; the reaper rings anew. */
  async dropNodeQueue(node: string): Promise<void> {
    await this.producer.queue(nodeQueueName(node)).drain(true);
  }
}

/**
 * A node's ear for the execution doorbells published to it (Doorbells.execution). After a reconnect
 * (ioredis subscribes again by itself) `onReconnect` runs: a doorbell published while the old
 * connection was dying may not have arrived.
 */
export class NodeDoorbellListener {
  private readonly subscriber: Redis;
  private readonly channel: string;

  constructor(settings: QueueSettings, nodeId: string, onDoorbell: (w: WaitingExecution) => void, onReconnect: () => void) {
    // named, so `CLIENT LIST` says whose it is
    this.subscriber = new Redis({ ...redisOptions(settings.redisUrl, 'worker'), connectionName: `doorbells-${nodeId}` }).on('error', () => undefined);
    let connected = false;
    this.subscriber.on('ready', () => (connected ? onReconnect() : (connected = true)));
    this.subscriber.on('message', (_channel: string, message: string) => {
      // anything but a doorbell (nothing else publishes here) is ignored
      const data = runExecutionJob.safeParse(parseJson(message));
      if (data.success) onDoorbell(waitingOf(data.data));
    });
    this.channel = `${settings.prefix}:${nodeChannel(nodeId)}`;
  }

  /** Listens from now on; resolves once subscribed. */
  async start(): Promise<void> {
    await this.subscriber.subscribe(this.channel);
  }

  async close(): Promise<void> {
    await closeRedis(this.subscriber);
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
