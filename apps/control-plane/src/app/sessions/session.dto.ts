import { ENV_VAR_NAME, formatBytes, isWaitingForPlacement, LIMITS, parseBytes, parseCpu, QuantityError, SESSION_ERROR_CODES, SESSION_STATUSES, type Session } from '@sandbox/domain';
import { createZodDto } from '../http/zod-dto';
import { z } from 'zod';

const quantity = (parse: (v: string) => number, min: number, max: number, fmt: (n: number) => string) =>
  z
    .string()
    .max(16)
    .superRefine((value, ctx) => {
      try {
        const n = parse(value);
        if (n < min || n > max) ctx.addIssue({ code: 'custom', message: `'${value}' is out of range: allowed ${fmt(min)} to ${fmt(max)}` });
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: e instanceof QuantityError ? e.message : String(e) });
      }
    });
function unit(kind: string) {
  return kind === 'cpu' ? (n: number) => `${n / 1e9} CPUs` : (n: number) => formatBytes(n);
}

export const envVars = z
  .record(
    z.string().max(LIMITS.envVarNameLength).regex(ENV_VAR_NAME, 'env var names are letters, digits and "_", not starting with a digit'),
    z
      .string()
      .refine((v) => !v.includes('\0'), 'env var values cannot contain NUL bytes')
      .refine((v) => Buffer.byteLength(v) <= LIMITS.envVarValueBytes, `env var values are at most ${LIMITS.envVarValueBytes} bytes`),
  )
  .refine((r) => Object.keys(r).length <= LIMITS.envVarCount, `at most ${LIMITS.envVarCount} env vars`)
  .refine(
    (r) => Object.entries(r).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0) <= LIMITS.envVarsTotalBytes,
    `env vars are at most ${LIMITS.envVarsTotalBytes} bytes in all`,
  );

const idleTimeout = z.number().int().min(LIMITS.sessionTimeoutSeconds.min).max(LIMITS.sessionTimeoutSeconds.max);

export const createSessionBody = z
  .object({
    template_id: z.string().min(1).max(64).describe('a template id from GET /v1/templates'),
    env_vars: envVars.optional().describe('environment of every execution in the session; values are write-only'),
    timeout: idleTimeout.optional().describe(`idle timeout in seconds (default ${LIMITS.sessionTimeoutSeconds.default})`),
    resources: z
      .object({
        cpu: quantity(parseCpu, 1e7, LIMITS.cpuNanos.max, unit('cpu')).optional().describe('CPUs: "1", "0.5" or "500m"'),
        memory: quantity(parseBytes, LIMITS.memoryBytes.min, LIMITS.memoryBytes.max, unit('bytes')).optional().describe('e.g. "512Mi"'),
        disk: quantity(parseBytes, LIMITS.diskBytes.min, LIMITS.diskBytes.max, unit('bytes')).optional().describe('workspace size, e.g. "1Gi"'),
      })
      .strict()
      .optional()
      .describe("overrides of the template's default resources"),
  })
  .strict();
export class CreateSessionDto extends createZodDto(createSessionBody) {}

export const updateSessionBody = z
  .object({
    timeout: idleTimeout.describe(
      `idle timeout in seconds (${LIMITS.sessionTimeoutSeconds.min} to ${LIMITS.sessionTimeoutSeconds.max}), counted from now: extends or shortens the session's life`,
    ),
  })
  .strict();
export class UpdateSessionDto extends createZodDto(updateSessionBody) {}

export const pageQuery = {
  limit: z.coerce.number().int().min(1).max(LIMITS.pageSize.max).default(LIMITS.pageSize.default),
  cursor: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'cursor is the next_cursor of a previous page')
    .optional(),
};
export const listSessionsQuery = z.object({ status: z.enum(SESSION_STATUSES).optional(), ...pageQuery }).strict();
export class ListSessionsQueryDto extends createZodDto(listSessionsQuery) {}

export const sessionResponse = z.object({
  id: z.string(),
  template_id: z.string(),
  tenant: z.string().describe('owner: the tenant of the key that created it'),
  status: z.enum(SESSION_STATUSES),
  runtime_type: z.string(),
  runtime_node: z.string().nullable(),
  container_id: z.string().nullable(),
  pod_name: z.string().nullable(),
  workspace_path: z.string().nullable().describe('where the workspace is stored; null once deleted after the retention period'),
  resources_cpu: z.string().nullable(),
  resources_memory: z.string().nullable(),
  resources_disk: z.string().nullable(),
  env_vars: z.array(z.string()).describe('names of the env vars set; values are write-only'),
  timeout: z.number().describe('idle timeout, seconds'),
  error: z.string().nullable(),
  error_code: z.enum(SESSION_ERROR_CODES).nullable().describe('why it failed, for machines: no_capacity, image_missing, start_failed, template_missing'),
  placement: z
    .object({
      state: z.literal('waiting_for_capacity'),
      position: z.number().int().nullable().describe('its turn in the placement queue (1: next; round-robin by tenant); given by GET /v1/sessions/{id}'),
      waiting_since: z.string(),
      gives_up_at: z.string().describe('then it ends failed (no_capacity) if no node took it'),
    })
    .nullable()
    .describe('set while no node holds the session yet'),
  last_activity_at: z.string(),
  created_at: z.string(),
  updated_at: z.string(),
  completed_at: z.string().nullable(),
});
export class SessionResponseDto extends createZodDto(sessionResponse) {}
export class SessionPageDto extends createZodDto(z.object({ items: z.array(sessionResponse), next_cursor: z.string().nullable() })) {}

/** Where a session waiting for a node stands: its position when known, and when it gives up. */
export interface PlacementView {
  readonly position: number | null;
  readonly placementTimeoutSeconds: number;
}

export function sessionToResponse(s: Session, view?: PlacementView): z.infer<typeof sessionResponse> {
  const since = s.placementRequestedAt;
  return {
    id: s.id,
    template_id: s.templateId,
    tenant: s.tenant,
    status: s.status,
    runtime_type: s.runtimeType,
    runtime_node: s.runtimeNode,
    container_id: s.containerId,
    pod_name: s.podName,
    workspace_path: s.workspacePath,
    resources_cpu: s.resources.cpu,
    resources_memory: s.resources.memory,
    resources_disk: s.resources.disk,
    env_vars: Object.keys(s.envVars),
    timeout: s.timeout,
    error: s.error,
    error_code: s.errorCode,
    placement:
      view && since && isWaitingForPlacement(s)
        ? {
            state: 'waiting_for_capacity',
            position: view.position,
            waiting_since: since.toISOString(),
            gives_up_at: new Date(since.getTime() + view.placementTimeoutSeconds * 1000).toISOString(),
          }
        : null,
    last_activity_at: s.lastActivityAt.toISOString(),
    created_at: s.createdAt.toISOString(),
    updated_at: s.updatedAt.toISOString(),
    completed_at: s.completedAt?.toISOString() ?? null,
  };
}
