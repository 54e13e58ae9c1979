import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Body, Controller, Get, HttpCode, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { AUDIT_ACTIONS, LIMITS, type Principal, type RecordedAuditEvent } from '@sandbox/domain';
import { AuditRepository } from '@sandbox/persistence';
import { type Request, type Response } from 'express';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { createZodDto } from '../http/zod-dto';
import { z } from 'zod';
import { AdminOnly, CurrentPrincipal } from '../http/access.decorators';
import { AuditService } from './audit.service';

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

const before = z.iso
  .datetime({ offset: true })
  .transform((v) => new Date(v))
  .refine((d) => d.getTime() <= Date.now(), 'must not be in the future')
  .describe('ISO 8601 time: the events that occurred before it');
class AuditExportQueryDto extends createZodDto(z.object({ before }).strict()) {}
class AuditPruneDto extends createZodDto(z.object({ before }).strict()) {}
class AuditPruneResultDto extends createZodDto(z.object({ before: z.string(), deleted: z.number().describe('events deleted') })) {}

/** The append-only audit log, newest first (admin scope). */
@ApiTags('audit')
@ApiBearerAuth()
@AdminOnly()
@Controller('v1/audit-events')
export class AuditController {
  constructor(
    private readonly audit: AuditRepository,
    private readonly recorder: AuditService,
    @InjectPinoLogger(AuditController.name) private readonly log: PinoLogger,
  ) {}

  @Get()
  @ApiOkResponse({ type: AuditPageDto })
  @ApiOperation({ summary: 'List audit events (admin)' })
  async list(@Query() q: AuditQueryDto) {
    const page = await this.audit.list({ limit: q.limit, cursor: q.cursor, action: q.action, targetId: q.target_id });
    return { items: page.items.map(toResponse), next_cursor: page.nextCursor };
  }

  /** Every event before a time, oldest first, one JSON object a line, streamed (keep it before pruning). */
  @Get('export')
  @ApiProduces('application/x-ndjson')
  @ApiOkResponse({ type: String, description: 'one audit event per line, shaped as the items of GET /v1/audit-events; the export is audited as `audit.export`' })
  @ApiOperation({ summary: 'Export audit events as NDJSON (admin)' })
  async export(@Query() q: AuditExportQueryDto, @CurrentPrincipal() who: Principal, @Req() req: Request, @Res() res: Response) {
    const events = this.audit.before(q.before);
    let count = 0;
    res.status(200).set({ 'Content-Type': 'application/x-ndjson; charset=utf-8', 'Content-Disposition': 'attachment; filename="audit-events.ndjson"' });
    await pipeline(
      Readable.from(
        (async function* () {
          for await (const e of events) {
            count++;
            yield `${JSON.stringify(toResponse(e))}\n`;
          }
        })(),
      ),
      res,
    );
    await this.recorder.record(who, req, 'audit.export', { type: 'audit_log', id: q.before.toISOString() }, { before: q.before.toISOString(), events: count });
  }

  /**
   * Deletes the events before a time: the only way anything leaves the append-only log. The prune is
   * appended as an `audit.prune` event first (no event, no prune), which it never deletes: it is newer.
   */
  @Post('prune')
  @HttpCode(200)
  @ApiOkResponse({ type: AuditPruneResultDto })
  @ApiOperation({ summary: 'Prune old audit events (admin)' })
  async prune(@Body() body: AuditPruneDto, @CurrentPrincipal() who: Principal, @Req() req: Request) {
    const at = body.before.toISOString();
    await this.recorder.recordFirst(who, req, 'audit.prune', { type: 'audit_log', id: at }, { before: at });
    const deleted = await this.audit.prune(body.before);
    this.log.info({ before: at, deleted }, 'audit log pruned');
    return { before: at, deleted };
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
