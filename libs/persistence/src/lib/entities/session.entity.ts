import { RUNTIME_TYPES, SESSION_STATUSES, type RuntimeType, type SessionErrorCode, type SessionStatus } from '@sandbox/domain';
import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

@Entity({ name: 'sessions' })
@Index('idx_status', ['status'])
@Index('idx_template', ['templateId'])
@Index('idx_created', ['createdAt'])
@Index('idx_runtime_node', ['runtimeNode'])
@Index('idx_last_activity', ['lastActivityAt'])
@Index('idx_tenant_status', ['tenant', 'status'])
@Index('idx_completed', ['completedAt'])
@Index('idx_idempotency_created', ['idempotencyKey', 'createdAt'])
@Index('uq_sessions_idempotency', ['tenant', 'idempotencyKey'], { unique: true })
@Index('idx_placement_requested', ['placementRequestedAt'])
export class SessionEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  id!: string;

  @Column({ name: 'template_id', type: 'varchar', length: 64 })
  templateId!: string;

  @Column({ type: 'varchar', length: 64 })
  tenant!: string;

  @Column({ name: 'idempotency_key', type: 'varchar', length: 128, nullable: true })
  idempotencyKey!: string | null;

  @Column({ name: 'request_hash', type: 'char', length: 64, nullable: true })
  requestHash!: string | null;

  @Column({ name: 'trace_parent', type: 'varchar', length: 55, nullable: true })
  traceParent!: string | null;

  @Column({ type: 'enum', enum: SESSION_STATUSES })
  status!: SessionStatus;

  @Column({ name: 'runtime_type', type: 'enum', enum: RUNTIME_TYPES })
  runtimeType!: RuntimeType;

  @Column({ name: 'runtime_node', type: 'varchar', length: 128, nullable: true })
  runtimeNode!: string | null;

  @Column({ name: 'container_id', type: 'varchar', length: 128, nullable: true })
  containerId!: string | null;

  @Column({ name: 'pod_name', type: 'varchar', length: 128, nullable: true })
  podName!: string | null;

  @Column({ name: 'workspace_path', type: 'varchar', length: 256, nullable: true })
  workspacePath!: string | null;

  @Column({ name: 'workspace_version', type: 'int', default: 0 })
  workspaceVersion!: number;

  @Column({ name: 'resources_cpu', type: 'varchar', length: 16, nullable: true })
  resourcesCpu!: string | null;

  @Column({ name: 'resources_memory', type: 'varchar', length: 16, nullable: true })
  resourcesMemory!: string | null;

  @Column({ name: 'resources_disk', type: 'varchar', length: 16, nullable: true })
  resourcesDisk!: string | null;

  @Column({ name: 'env_vars', type: 'json', nullable: true })
  envVars!: Record<string, string> | null;

  @Column({ type: 'int', default: 300 })
  timeout!: number;

  @Column({ type: 'varchar', length: 1024, nullable: true })
  error!: string | null;

  @Column({ name: 'error_code', type: 'varchar', length: 32, nullable: true })
  errorCode!: SessionErrorCode | null;

  @Column({ name: 'placement_requested_at', type: 'timestamp', precision: 3, nullable: true })
  placementRequestedAt!: Date | null;

  @Column({ name: 'last_activity_at', type: 'timestamp', default: () => 'CURRENT_TIMESTAMP' })
  lastActivityAt!: Date;

  @Column({ name: 'created_at', type: 'timestamp', default: () => 'CURRENT_TIMESTAMP' })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'timestamp', default: () => 'CURRENT_TIMESTAMP', onUpdate: 'CURRENT_TIMESTAMP' })
  updatedAt!: Date;

  @Column({ name: 'completed_at', type: 'timestamp', nullable: true })
  completedAt!: Date | null;
}
