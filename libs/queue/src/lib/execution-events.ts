import { type ExecutionStatus } from '@sandbox/domain';
import { QueueEvents, type QueueEventsListener, QueueEventsProducer } from 'bullmq';
import { EVENTS_QUEUE } from './catalog';
import { redisOptions } from './connection';
import { type QueueSettings } from './queue-producer';

const EXECUTION_FINISHED = 'execution-finished';
// bounds the events stream; a waiter that misses an event re-reads the database
const MAX_EVENTS = 10_000;

export interface ExecutionFinished {
  readonly execution_id: string;
  readonly status: ExecutionStatus;
}

/** Agents (and the reaper, for crashed ones) announce each terminal write, after it is committed. */
export class ExecutionEventsPublisher {
  private producer: QueueEventsProducer | null = null;

  constructor(private readonly settings: QueueSettings) {}

  async finished(event: ExecutionFinished): Promise<void> {
    await this.connected().publishEvent({ eventName: EXECUTION_FINISHED, ...event }, MAX_EVENTS);
  }

  async close(): Promise<void> {
    await this.producer?.close();
    this.producer = null;
  }

  // connected on first use: a process that never announces (the control plane) holds no connection
  private connected(): QueueEventsProducer {
    if (!this.producer) {
      // a producer's deadline: a hung Redis must not hold the run loop that announces
      this.producer = new QueueEventsProducer(EVENTS_QUEUE, { connection: redisOptions(this.settings.redisUrl, 'producer'), prefix: this.settings.prefix });
      // failures surface on publishEvent; the listener keeps them from crashing the process
      this.producer.on('error', () => undefined);
    }
    return this.producer;
  }
}

interface FinishedListener extends QueueEventsListener {
  [EXECUTION_FINISHED]: (args: ExecutionFinished, id: string) => void;
}

/** The control plane listens once and fans events out to whoever waits for an execution. */
export class ExecutionEventsListener {
  private readonly events: QueueEvents;

  constructor(settings: QueueSettings, onFinished: (event: ExecutionFinished) => void) {
    this.events = new QueueEvents(EVENTS_QUEUE, { connection: redisOptions(settings.redisUrl, 'worker'), prefix: settings.prefix });
    // it reconnects by itself; a waiter that misses events re-reads the database
    this.events.on('error', () => undefined);
    this.events.on<FinishedListener>(EXECUTION_FINISHED, (args: ExecutionFinished) => onFinished(args));
  }

  waitUntilReady(): Promise<unknown> {
    return this.events.waitUntilReady();
  }

  close(): Promise<void> {
    return this.events.close();
  }
}
