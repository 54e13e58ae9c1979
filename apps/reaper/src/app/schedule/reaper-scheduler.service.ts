import { type BeforeApplicationShutdown, Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { OutageGuard, QueueProducer, QueueWorker } from '@sandbox/queue';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { REAPER_CONFIG, type ReaperConfig } from '../reaper.config';
import { SessionExpiryService } from '../expiry/session-expiry.service';
import { RecoveryService } from '../recovery/recovery.service';
import { DataRetentionService } from '../retention/data-retention.service';
import { WorkspaceRetentionService } from '../retention/workspace-retention.service';
import { WebhookOutboxService } from '../webhooks/webhook-outbox.service';

/**
 * The reaper's clock: each periodic task is a BullMQ job scheduler (upserted by every replica, one
 * job per tick in all) and the reaper's worker runs whichever tick it gets. Thin: a tick calls one
 * service method.
 */
@Injectable()
export class ReaperSchedulerService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private worker: QueueWorker | null = null;
  private reassert: NodeJS.Timeout | null = null;

  constructor(
    @Inject(REAPER_CONFIG) private readonly config: ReaperConfig,
    private readonly producer: QueueProducer,
    private readonly recovery: RecoveryService,
    private readonly expiry: SessionExpiryService,
    private readonly retention: WorkspaceRetentionService,
    private readonly dataRetention: DataRetentionService,
    private readonly webhooks: WebhookOutboxService,
    private readonly guard: OutageGuard,
    @InjectPinoLogger(ReaperSchedulerService.name) private readonly log: PinoLogger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // a reaper that starts has not been watching: loss verdicts wait a full threshold
    await this.guard.forget();
    await this.schedule();
    // the schedules live in Redis: if Redis loses its data they are gone, so every reaper puts them
    // back now and then (idempotent)
    this.reassert = setInterval(
      () => void this.schedule().catch((e) => this.log.warn({ err: e }, 'cannot re-assert the schedules')),
      Math.max(this.config.REAPER_INTERVAL_MS * 10, 5000),
    );
    this.worker = QueueWorker.start(
      'reaper',
      {
        recovery: () => this.recovery.run(),
        'session-expiry': () => this.expiry.run(),
        'workspace-retention': () => this.retention.run(),
        'data-retention': () => this.dataRetention.run(),
        'webhook-outbox': () => this.webhooks.run(),
      },
      { redisUrl: this.config.REDIS_URL, prefix: this.config.QUEUE_PREFIX },
      {
        onError: (e) => this.log.error({ err: e }, 'reaper worker error'),
        onFailed: (task, e) => this.log.error({ task, err: e }, 'reaper task failed'),
      },
    );
    this.log.info({ retention_days: this.config.WORKSPACE_RETENTION_DAYS, session_retention_days: this.config.SESSION_RETENTION_DAYS, stale_after_s: this.config.STALE_AFTER_SECONDS, max_retries: this.config.MAX_RETRIES }, 'reaper ready');
  }

  private async schedule(): Promise<void> {
    await this.producer.schedule('reaper', 'recovery', this.config.REAPER_INTERVAL_MS);
    await this.producer.schedule('reaper', 'session-expiry', this.config.REAPER_INTERVAL_MS);
    await this.producer.schedule('reaper', 'webhook-outbox', this.config.REAPER_INTERVAL_MS);
    await this.producer.schedule('reaper', 'workspace-retention', this.config.RETENTION_INTERVAL_MS);
    await this.producer.schedule('reaper', 'data-retention', this.config.RETENTION_INTERVAL_MS);
  }

  /** Before the connections close (QueueModule, the database): a tick in flight finishes first. */
  async beforeApplicationShutdown(): Promise<void> {
    if (this.reassert) clearInterval(this.reassert);
    await this.worker?.close();
  }
}
