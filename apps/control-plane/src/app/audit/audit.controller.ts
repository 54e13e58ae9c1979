import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { AUDIT_ACTIONS, LIMITS, type RecordedAuditEvent } from '@sandbox/domain';
import { AuditRepository } from '@sandbox/persistence';
import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';
import { AdminOnly } from '../http/access.decorators';

const auditQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(LIMITS.pageSize.max).default(LIMITS.pageSize.default),
    cursor: z.coerce.number().int().min(1).optional().describe('next_cursor of the previous page'),
    action: z.enum(AUDIT_ACTIONS).optional(),
    target_id: z.string().max(128).optional(),
  })
  .strict();
class AuditQueryDto extends createZodDto(auditQuery) {}

const auditEventResponse = z.object({
  id: z.number(),
  occurred_at: z.string(),
  actor: z.string().describe('API key id, or cli / reaper'),
  tenant: z.string().nullable(),
  action: z.enum(AUDIT_ACTIONS),
  target_type: z.string(),
  target_id: z.string(),
  outcome: z.string(),
  request_id: z.string().nullable(),
  ip: z.string().nullable(),
  detail: z.record(z.string(), z.unknown()).nullable(),
});
class AuditPageDto extends createZodDto(z.object({ items: z.array(auditEventResponse), next_cursor: z.number().nullable() })) {}

/** The append-only audit log, newest first (admin scope). */
@ApiTags('audit')
@ApiBearerAuth()
@AdminOnly()
@Controller('v1/audit-events')
export class AuditController {
  constructor(private readonly audit: AuditRepository) {}

  @Get()
  @ApiOkResponse({ type: AuditPageDto })
  async list(@Query() q: AuditQueryDto) {
    const page = await this.audit.list({ limit: q.limit, cursor: q.cursor, action: q.action, targetId: q.target_id });
    return { items: page.items.map(toResponse), next_cursor: page.nextCursor };
  }
}

function toResponse(e: RecordedAuditEvent): z.infer<typeof auditEventResponse> {
  return {
    id: e.id,
    occurred_at: e.occurredAt.toISOString(),
    actor: e.actor,
    tenant: e.tenant,
    action: e.action,
    target_type: e.targetType,
    target_id: e.targetId,
    outcome: e.outcome,
    request_id: e.requestId ?? null,
    ip: e.ip ?? null,
    detail: e.detail ? { ...e.detail } : null,
  };
}
