import { Inject, Injectable } from '@nestjs/common';
import { expireSession } from '@sandbox/domain';
import { AuditRepository, ExecutionRepository, SessionRepository } from '@sandbox/persistence';
import { Doorbells } from '@sandbox/queue';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { REAPER_CONFIG, type ReaperConfig } from '../reaper.config';
import { ReaperMetrics } from '../reaper.metrics';

/**
 * Ends sessions idle past their own timeout (running or queued executions count as activity) and
 * sessions past SESSION_MAX_LIFETIME_SECONDS: status `timeout` with the reason, queued executions
 * failed, and the container removed by its node (the workspace stays in the store: the agent stores
 * it after every execution).
 */
@Injectable()
export class SessionExpiryService {
  constructor(
    @Inject(REAPER_CONFIG) private readonly config: ReaperConfig,
    private readonly sessions: SessionRepository,
    private readonly executions: ExecutionRepository,
    private readonly doorbells: Doorbells,
    private readonly audit: AuditRepository,
    private readonly metrics: ReaperMetrics,
    @InjectPinoLogger(SessionExpiryService.name) private readonly log: PinoLogger,
  ) {}

  async run(): Promise<number> {
    let ended = 0;
    for (const { session, reason } of await this.sessions.expired(this.config.SESSION_MAX_LIFETIME_SECONDS, this.config.REAPER_BATCH)) {
      const error =
        reason === 'idle'
          ? `idle for more than its timeout of ${session.timeout}s`
          : `reached the maximum session lifetime of ${this.config.SESSION_MAX_LIFETIME_SECONDS}s`;
      if (!(await this.sessions.transition(session.id, expireSession, { error }))) continue;
      ended++;
      this.metrics.count('session', `expired_${reason}`);
      await this.audit
        .append({ actor: 'reaper', tenant: null, action: 'session.expire', targetType: 'session', targetId: session.id, outcome: 'ok', detail: { reason, tenant: session.tenant } })
        .catch((e) => this.log.error({ session_id: session.id, err: e }, 'audit event not recorded'));
      await this.executions.cancelPending(session.id, `the session timed out (${error}) before the execution started`);
      if (session.runtimeNode) {
        // a lost doorbell here leaves the container to the node's orphan sweep
        await this.doorbells
          .termination(session.id, session.runtimeNode, true)
          .catch((e) => this.log.warn({ session_id: session.id, err: e }, 'cannot ask the node to remove the container'));
      }
      this.log.info({ session_id: session.id, template_id: session.templateId, runtime_node: session.runtimeNode, reason }, `session timed out: ${error}`);
    }
    this.metrics.ran('session-expiry');
    return ended;
  }
}
