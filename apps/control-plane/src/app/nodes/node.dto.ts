import { NODE_STATUSES, type RuntimeNode } from '@sandbox/domain';
import { createZodDto } from '../http/zod-dto';
import { z } from 'zod';

export const nodeResponse = z.object({
  id: z.string(),
  hostname: z.string(),
  version: z.string(),
  status: z.enum(NODE_STATUSES).describe('online, draining (no new sessions), offline'),
  capacity: z.number().describe('executions it runs at once'),
  running: z.number().describe('executions running at its last heartbeat'),
  sessions: z.number().describe('live sessions bound to it'),
  budget: z
    .object({
      memory_bytes: z.number(),
      cpus: z.number(),
      free_memory_bytes: z.number(),
      free_cpus: z.number(),
      free_sessions: z.number().describe('sessions of the default size that still fit'),
    })
    .describe("its sandboxes' allocatable budget (AGENT_MEMORY_BYTES, AGENT_CPUS) and what of it is free; warm containers count as free"),
  labels: z.record(z.string(), z.string()),
  last_heartbeat_at: z.string().nullable(),
  heartbeat_age_seconds: z.number().nullable().describe('on the database clock'),
  stale: z.boolean().describe('no heartbeat for over STALE_AFTER_SECONDS: its work is recovered elsewhere'),
  started_at: z.string(),
});
export class NodeResponseDto extends createZodDto(nodeResponse) {}
export class NodeListDto extends createZodDto(z.object({ items: z.array(nodeResponse) })) {}

export function nodeToResponse(n: RuntimeNode & { heartbeatAge: number | null }, sessions: number, staleAfter: number): z.infer<typeof nodeResponse> {
  return {
    id: n.id,
    hostname: n.hostname,
    version: n.version,
    status: n.status,
    capacity: n.capacity,
    running: n.running,
    sessions,
    budget: {
      memory_bytes: n.budget.memoryBytes,
      cpus: n.budget.cpuNanos / 1e9,
      free_memory_bytes: n.budget.freeMemoryBytes,
      free_cpus: n.budget.freeCpuNanos / 1e9,
      free_sessions: n.budget.freeSessions,
    },
    labels: { ...n.labels },
    last_heartbeat_at: n.lastHeartbeatAt?.toISOString() ?? null,
    heartbeat_age_seconds: n.heartbeatAge === null ? null : Math.round(n.heartbeatAge * 10) / 10,
    stale: n.heartbeatAge === null || n.heartbeatAge > staleAfter,
    started_at: n.startedAt.toISOString(),
  };
}
