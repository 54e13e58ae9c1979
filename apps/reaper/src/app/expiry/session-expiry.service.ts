import { Inject, Injectable } from '@nestjs/common';
import { expireSession, failSession } from '@sandbox/domain';
import { AuditRepository, ExecutionRepository, SessionRepository } from '@sandbox/persistence';
import { Doorbells } from '@sandbox/queue';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { REAPER_CONFIG, type ReaperConfig } from '../reaper.config';
import { ReaperMetrics } from '../reaper.metrics';

/**
 * Fails sessions no node took within PLACEMENT_TIMEOUT_SECONDS (`failed`, error code `no_capacity`),
 * with their pending executions (reason `no_capacity`: a `?wait` on them returns then). Ends sessions idle past their own timeout (running or queued executions count as activity) and
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
    let ended = await this.failUnplaced();
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

  private async failUnplaced(): Promise<number> {
    const timeout = this.config.PLACEMENT_TIMEOUT_SECONDS;
    const error = `no runtime node had room for it within ${timeout}s`;
    let failed = 0;
    for (const id of await this.sessions.waitingLongerThan(timeout, this.config.REAPER_BATCH)) {
      // conditional on still waiting: a node that bound it meanwhile wins
      if (!(await this.sessions.failWaiting(id, failSession, error, 'no_capacity'))) continue;
      failed++;
      this.metrics.count('session', 'failed_no_capacity');
      await this.executions.cancelPending(id, `the session found no node with room within ${timeout}s: ${error}`, 'no_capacity');
      this.log.warn({ session_id: id, placement_timeout_s: timeout }, `session failed: ${error}`);
    }
    return failed;
  }
}
