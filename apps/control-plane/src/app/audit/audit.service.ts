import { Injectable } from '@nestjs/common';
import { type AuditAction, type AuditEvent, type Principal } from '@sandbox/domain';
import { AuditRepository } from '@sandbox/persistence';
import { type Request } from 'express';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';

/** Appends who did what to the audit log; a failed append is logged, never fails the action done. */
@Injectable()
export class AuditService {
  constructor(
    private readonly audit: AuditRepository,
    @InjectPinoLogger(AuditService.name) private readonly log: PinoLogger,
  ) {}

  async record(
    principal: Principal,
    req: Request,
    action: AuditAction,
    target: { type: AuditEvent['targetType']; id: string },
    detail: AuditEvent['detail'] = null,
    outcome = 'ok',
  ): Promise<void> {
    const event = eventOf(principal, req, action, target, detail, outcome);
    await this.audit.append(event).catch((e) => this.log.error({ err: e, audit: event }, 'audit event not recorded'));
  }

  /** Appends before an action that must never happen unrecorded (a prune of the log itself): throws when it cannot. */
  async recordFirst(principal: Principal, req: Request, action: AuditAction, target: { type: AuditEvent['targetType']; id: string }, detail: AuditEvent['detail'] = null): Promise<void> {
    await this.audit.append(eventOf(principal, req, action, target, detail, 'ok'));
  }
}

function eventOf(
  principal: Principal,
  req: Request,
  action: AuditAction,
  target: { type: AuditEvent['targetType']; id: string },
  detail: AuditEvent['detail'],
  outcome: string,
): AuditEvent {
  return {
    actor: principal.keyId,
    tenant: principal.tenant,
    action,
    targetType: target.type,
    targetId: target.id,
    outcome,
    requestId: req.id === undefined ? null : String(req.id),
    ip: req.ip ?? null,
    detail,
  };
}
