import { type DynamicModule, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { Doorbells } from './doorbells';
import { ExecutionEventsPublisher } from './execution-events';
import { ExecutionOutputPublisher } from './execution-output';
import { OutageGuard } from './outage-guard';
import { QueueProducer, type QueueSettings } from './queue-producer';

/** The Redis URL and key prefix of the app's queues, for what opens connections of its own (workers). */
export const QUEUE_SETTINGS = Symbol('QUEUE_SETTINGS');

/**
 * What the apps use of Redis: the producer and the doorbells rung through it, the announcements of
 * finished executions, the output of running ones, the reapers' outage guard. Connections close at application shutdown, after
 * the apps' own ordered stops (an agent's drain still rings doorbells and announces results).
 */
@Module({})
export class QueueModule implements OnApplicationShutdown {
  constructor(
    @Inject(QueueProducer) private readonly producer: QueueProducer,
    @Inject(ExecutionEventsPublisher) private readonly events: ExecutionEventsPublisher,
    @Inject(ExecutionOutputPublisher) private readonly output: ExecutionOutputPublisher,
  ) {}

  static forRoot(settings: QueueSettings): DynamicModule {
    // factories, not instances: a module only described (Nest's preview mode, which renders the
    // OpenAPI document) opens no connection
    const providers = [
      { provide: QUEUE_SETTINGS, useValue: settings },
      { provide: QueueProducer, useFactory: () => new QueueProducer(settings) },
      { provide: Doorbells, useFactory: (producer: QueueProducer) => new Doorbells(producer), inject: [QueueProducer] },
      { provide: ExecutionEventsPublisher, useFactory: () => new ExecutionEventsPublisher(settings) },
      { provide: ExecutionOutputPublisher, useFactory: () => new ExecutionOutputPublisher(settings) },
      { provide: OutageGuard, useFactory: (producer: QueueProducer) => new OutageGuard(producer, settings.prefix), inject: [QueueProducer] },
    ];
    return { module: QueueModule, global: true, providers, exports: providers.map((p) => p.provide) };
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.allSettled([this.producer.close(), this.events.close(), this.output.close()]);
  }
}
