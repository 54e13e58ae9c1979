import { Inject, Injectable } from '@nestjs/common';
import { ExecutionRepository } from '@sandbox/persistence';
import { Doorbells } from '@sandbox/queue';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { REAPER_CONFIG, type ReaperConfig } from '../reaper.config';
import { ReaperMetrics } from '../reaper.metrics';

/**
 * The webhook outbox: every ended execution with a callback_url gets its delivery job, whoever ended it
 * (its agent queues it at once; a cancel, the reaper's own verdicts and an agent that died between its
 * result and the job are caught here, within a tick). Marked `queued` only once the job is in Redis.
 */
@Injectable()
export class WebhookOutboxService {
  constructor(
    @Inject(REAPER_CONFIG) private readonly config: ReaperConfig,
    private readonly executions: ExecutionRepository,
    private readonly doorbells: Doorbells,
    private readonly metrics: ReaperMetrics,
    @InjectPinoLogger(WebhookOutboxService.name) private readonly log: PinoLogger,
  ) {}

  async run(): Promise<number> {
    let queued = 0;
    for (const id of await this.executions.pendingWebhooks(this.config.REAPER_BATCH)) {
      await this.doorbells.webhook(id);
      if (await this.executions.moveWebhook(id, ['pending'], 'queued')) queued++;
    }
    if (queued) {
      this.metrics.count('webhook', 'queued', queued);
      this.log.info({ queued }, 'webhook deliveries queued');
    }
    this.metrics.ran('webhook-outbox');
    return queued;
  }
}
