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
    const event: AuditEvent = {
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
    await this.audit.append(event).catch((e) => this.log.error({ err: e, audit: event }, 'audit event not recorded'));
  }
}
