import { type ApiKey, type Execution, type RecordedAuditEvent, type RuntimeNode, type Session, type Template } from '@sandbox/domain';
import { type ApiKeyEntity } from './entities/api-key.entity';
import { type AuditEventEntity } from './entities/audit-event.entity';
import { type ExecutionEntity } from './entities/execution.entity';
import { type RuntimeNodeEntity } from './entities/runtime-node.entity';
import { type SessionEntity } from './entities/session.entity';
import { type TemplateEntity } from './entities/template.entity';

/** Entities are persistence types; everything above this library sees the domain types. */
export function toSession(e: SessionEntity): Session {
  return {
    id: e.id,
    templateId: e.templateId,
    tenant: e.tenant,
    traceParent: e.traceParent,
    status: e.status,
    runtimeType: e.runtimeType,
    runtimeNode: e.runtimeNode,
    containerId: e.containerId,
    podName: e.podName,
    workspacePath: e.workspacePath,
    workspaceVersion: e.workspaceVersion,
    resources: { cpu: e.resourcesCpu, memory: e.resourcesMemory, disk: e.resourcesDisk },
    envVars: e.envVars ?? {},
    timeout: e.timeout,
    error: e.error,
    errorCode: e.errorCode,
    placementRequestedAt: e.placementRequestedAt,
    lastActivityAt: e.lastActivityAt,
    createdAt: e.createdAt,
    updatedAt: e.updatedAt,
    completedAt: e.completedAt,
  };
}

export function toExecution(e: ExecutionEntity): Execution {
  return {
    id: e.id,
    sessionId: e.sessionId,
    traceParent: e.traceParent,
    code: e.code,
    language: e.language,
    status: e.status,
    stdin: e.stdin,
    envVars: e.envVars,
    args: e.args,
    encoding: e.encoding,
    inputFiles: e.inputFiles?.map((f) => ({ path: f.path, contentBase64: f.content_base64 })) ?? null,
    collect: e.collect,
    contextId: e.contextId,
    testCases: e.testCases,
    compare: e.compare,
    callbackUrl: e.callbackUrl,
    webhookState: e.webhookState,
    webhookFormat: e.webhookFormat,
    timeout: e.timeout,
    stdout: e.stdout,
    stderr: e.stderr,
    stdoutTruncated: Boolean(e.stdoutTruncated),
    stderrTruncated: Boolean(e.stderrTruncated),
    exitCode: e.exitCode,
    executionTime: e.executionTime,
    error: e.error,
    reason: e.reason,
    usage: e.usage,
    artifacts: e.artifacts,
    collected: e.collected,
    skippedArtifacts: e.skippedArtifacts,
    results: e.results,
    contextState: e.contextState,
    testResults: e.testResults,
    compileOutput: e.compileOutput,
    retryCount: e.retryCount ?? 0,
    attempt: e.attempt,
    attempts: e.attempts ?? [],
    runtimeNode: e.runtimeNode,
    startedAt: e.startedAt,
    lastHeartbeatAt: e.lastHeartbeatAt,
    createdAt: e.createdAt,
    completedAt: e.completedAt,
    cancelRequestedAt: e.cancelRequestedAt,
  };
}

export function toTemplate(e: TemplateEntity): Template {
  return {
    id: e.id,
    name: e.name,
    image: e.image,
    baseImage: e.baseImage,
    language: e.language,
    preInstalledPackages: e.preInstalledPackages ?? [],
    defaultResources: { cpu: e.defaultResourcesCpu, memory: e.defaultResourcesMemory, disk: e.defaultResourcesDisk },
    securityContext: e.securityContext,
    limits: e.limits ?? {},
    runtimes: e.runtimes,
    createdAt: e.createdAt,
    updatedAt: e.updatedAt,
  };
}

export function toRuntimeNode(e: RuntimeNodeEntity): RuntimeNode {
  return {
    id: e.id,
    hostname: e.hostname,
    version: e.version,
    status: e.status,
    capacity: e.capacity,
    running: e.running,
    budget: { memoryBytes: e.memoryBytes, cpuNanos: e.cpuNanos, freeMemoryBytes: e.freeMemoryBytes, freeCpuNanos: e.freeCpuNanos, freeSessions: e.freeSessions },
    labels: e.labels ?? {},
    lastHeartbeatAt: e.lastHeartbeatAt,
    startedAt: e.startedAt,
  };
}

export function toApiKey(e: ApiKeyEntity): ApiKey {
  return {
    id: e.id,
    prefix: e.prefix,
    name: e.name,
    scope: e.scope,
    tenant: e.tenant,
    createdBy: e.createdBy,
    expiresAt: e.expiresAt,
    revokedAt: e.revokedAt,
    lastUsedAt: e.lastUsedAt,
    createdAt: e.createdAt,
  };
}

export function toAuditEvent(e: AuditEventEntity): RecordedAuditEvent {
  return {
    id: Number(e.id),
    occurredAt: e.occurredAt,
    actor: e.actor,
    tenant: e.tenant,
    action: e.action,
    targetType: e.targetType,
    targetId: e.targetId,
    outcome: e.outcome,
    requestId: e.requestId,
    ip: e.ip,
    detail: e.detail,
  };
}
