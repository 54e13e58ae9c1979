import { type BeforeApplicationShutdown, Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { deliveredWith, tenantWebhookSecret } from '@sandbox/domain';
import { ExecutionRepository, SessionRepository, WebhookDeliveryRepository } from '@sandbox/persistence';
import { HopelessJobError, type JobContext, QueueWorker } from '@sandbox/queue';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { CONTROL_PLANE_CONFIG, type ControlPlaneConfig } from '../control-plane.config';
import { executionToResponse } from '../executions/execution.dto';
import { shownOrError, submissionView } from '../judge0/judge0-submission';
import { send, signedHeaders } from './webhook-sender';
import { allowedNetworks, webhookTarget, WebhookTargetRefused } from './webhook-target';

/**
 * Delivers result webhooks: the `webhooks` queue's worker in every control plane (BullMQ gives each
 * job to one of them and retries it with backoff, so a delivery outlives the control plane that was
 * sending it). Each attempt is logged; the first 2xx marks the execution `delivered`, after which no
 * job sends it again.
 */
@Injectable()
export class WebhookDeliveryService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private worker: QueueWorker | null = null;
  private readonly allowed;

  constructor(
    @Inject(CONTROL_PLANE_CONFIG) private readonly config: ControlPlaneConfig,
    private readonly executions: ExecutionRepository,
    private readonly sessions: SessionRepository,
    private readonly deliveries: WebhookDeliveryRepository,
    @InjectPinoLogger(WebhookDeliveryService.name) private readonly log: PinoLogger,
  ) {
    this.allowed = allowedNetworks(config.WEBHOOK_ALLOWED_NETWORKS);
  }

  onApplicationBootstrap(): void {
    this.worker = QueueWorker.start(
      'webhooks',
      { 'deliver-webhook': (data, job) => this.deliver(data.execution_id, job) },
      { redisUrl: this.config.REDIS_URL, prefix: this.config.QUEUE_PREFIX },
      { onError: (e) => this.log.error({ err: e }, 'webhook worker error') },
    );
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.worker?.close();
  }

  /** One attempt; throws to have BullMQ try again later. Says what it did, for the job's log. */
  async deliver(executionId: string, job: Pick<JobContext, 'attempt' | 'lastAttempt'>): Promise<string> {
    const e = await this.executions.findById(executionId);
    if (!e?.callbackUrl || e.webhookState === 'delivered' || e.webhookState === 'failed') return 'nothing to deliver';
    const session = await this.sessions.findById(e.sessionId);
    const fields = { execution_id: e.id, attempt: job.attempt };
    const t0 = performance.now();
    let status: number | null = null;
    let error: string | null = null;
    let hopeless = false;
    try {
      if (!this.config.WEBHOOK_SECRET || !session) throw new WebhookTargetRefused(this.config.WEBHOOK_SECRET ? 'the session is gone' : 'webhooks are off: WEBHOOK_SECRET is not set');
      const target = await webhookTarget(e.callbackUrl, this.allowed);
      // a Judge0 submission's callback is what Judge0 sends: a PUT of the submission
      const judge0 = e.webhookFormat === 'judge0' || e.webhookFormat === 'judge0-base64';
      const payload = judge0
        ? shownOrError(submissionView(e, 0), undefined, e.webhookFormat === 'judge0-base64')
        : { type: 'execution.finished', timestamp: new Date().toISOString(), data: executionToResponse(e) };
      const body = JSON.stringify(payload);
      const headers = signedHeaders(tenantWebhookSecret(this.config.WEBHOOK_SECRET, session.tenant), e.id, body, new Date());
      status = await send(target, judge0 ? 'PUT' : 'POST', body, headers, this.config.WEBHOOK_TIMEOUT_MS);
      if (!deliveredWith(status)) error = `the receiver answered ${status}`;
    } catch (err) {
      hopeless = err instanceof WebhookTargetRefused;
      error = (err as Error).message;
    }
    await this.deliveries.record({ executionId: e.id, attempt: job.attempt, url: e.callbackUrl, statusCode: status, error, durationMs: performance.now() - t0 });
    if (!error) {
      await this.executions.moveWebhook(e.id, ['pending', 'queued'], 'delivered');
      this.log.info({ ...fields, status }, 'webhook delivered');
      return `delivered (${status})`;
    }
    if (hopeless || job.lastAttempt) {
      await this.executions.moveWebhook(e.id, ['pending', 'queued'], 'failed');
      this.log.warn({ ...fields, status, error }, 'webhook not delivered: given up');
      throw new HopelessJobError(error);
    }
    this.log.info({ ...fields, status, error }, 'webhook not delivered yet: retrying');
    throw new Error(error);
  }
}
