import { type ExecutionStatus } from '@sandbox/domain';
import { QueueEvents, type QueueEventsListener, QueueEventsProducer } from 'bullmq';
import { EVENTS_QUEUE } from './catalog';
import { redisOptions } from './connection';
import { type QueueSettings } from './queue-producer';

export const EXECUTION_FINISHED = 'execution-finished';
// bounds the events stream; a waiter that misses an event re-reads the database
const MAX_EVENTS = 10_000;

export interface ExecutionFinished {
  readonly execution_id: string;
  readonly status: ExecutionStatus;
}

/** Agents announce each terminal write, after it is committed. */
export class ExecutionEventsPublisher {
  private readonly producer: QueueEventsProducer;

  constructor(settings: QueueSettings) {
    this.producer = new QueueEventsProducer(EVENTS_QUEUE, { connection: redisOptions(settings.redisUrl, 'worker'), prefix: settings.prefix });
    this.producer.on('error', () => undefined);
  }

  async finished(event: ExecutionFinished): Promise<void> {
    await this.producer.publishEvent({ eventName: EXECUTION_FINISHED, ...event }, MAX_EVENTS);
  }

  close(): Promise<void> {
    return this.producer.close();
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
