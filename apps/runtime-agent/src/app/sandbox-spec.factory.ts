import { parseBytes, parseCpu, type Session, type Template } from '@sandbox/domain';
import { type SandboxSpec } from '@sandbox/runtime';
import { type AgentConfig } from './agent.config';

/** What a sandbox gets where neither its session nor its template says. */
export const DEFAULT_RESOURCES = { cpu: '1', memory: '512Mi', disk: '1Gi' } as const;

/** The container a session (or, without one, a warm pool slot) of this template gets: the template's limits, else the agent's. */
export function sandboxSpec(config: AgentConfig, template: Template, session?: Session): SandboxSpec {
  const cpu = session?.resources.cpu ?? template.defaultResources.cpu ?? DEFAULT_RESOURCES.cpu;
  const memory = session?.resources.memory ?? template.defaultResources.memory ?? DEFAULT_RESOURCES.memory;
  const disk = session?.resources.disk ?? template.defaultResources.disk ?? DEFAULT_RESOURCES.disk;
  return {
    image: template.image,
    templateId: template.id,
    nodeId: config.NODE_ID,
    ...(session ? { sessionId: session.id } : {}),
    nanoCpus: parseCpu(cpu),
    memoryBytes: parseBytes(memory),
    diskBytes: parseBytes(disk),
    inodes: config.SANDBOX_WORKSPACE_INODES,
    tmpBytes: config.SANDBOX_TMP_BYTES,
    pidsLimit: template.limits.pids ?? config.SANDBOX_PIDS_LIMIT,
    nofile: template.limits.nofile ?? config.SANDBOX_NOFILE,
    fsizeBytes: template.limits.fsize_bytes ?? config.SANDBOX_FSIZE_BYTES,
    network: template.limits.network ?? false,
  };
}

/** A warm container fits a session only when the session asks for the template's own resources. */
export function fitsWarmPool(template: Template, session: Session): boolean {
  const r = session.resources;
  const d = template.defaultResources;
  return (r.cpu ?? d.cpu) === d.cpu && (r.memory ?? d.memory) === d.memory && (r.disk ?? d.disk) === d.disk;
}
