import { EXECUTION_STATUSES, OUTPUT_ENCODINGS, type Artifact, type ContextState, type ExecutionResults, type ExecutionAttempt, type ExecutionReason, type ExecutionStatus, type OutputEncoding, type ResourceUsage, type SkippedArtifacts, type CompareMode, type TestCase, type TestResults, WEBHOOK_STATES, type WebhookFormat, type WebhookState } from '@sandbox/domain';
import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { SessionEntity } from './session.entity';

@Entity({ name: 'executions' })
@Index('idx_session', ['sessionId'])
@Index('idx_status', ['status'])
@Index('idx_created', ['createdAt'])
@Index('idx_last_heartbeat', ['lastHeartbeatAt'])
@Index('idx_session_status', ['sessionId', 'status'])
@Index('idx_idempotency_created', ['idempotencyKey', 'createdAt'])
@Index('idx_webhook_state', ['webhookState'])
@Index('uq_executions_idempotency', ['sessionId', 'idempotencyKey'], { unique: true })
export class ExecutionEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  id!: string;

  @Column({ name: 'session_id', type: 'varchar', length: 64 })
  sessionId!: string;

  @ManyToOne(() => SessionEntity, { onDelete: 'CASCADE', onUpdate: 'RESTRICT' })
  @JoinColumn({ name: 'session_id', foreignKeyConstraintName: 'fk_executions_session' })
  session?: SessionEntity;

  @Column({ type: 'text' })
  code!: string;

  @Column({ type: 'varchar', length: 16 })
  language!: string;

  @Column({ type: 'enum', enum: EXECUTION_STATUSES })
  status!: ExecutionStatus;

  @Column({ type: 'mediumtext', nullable: true })
  stdin!: string | null;

  @Column({ name: 'env_vars', type: 'json', nullable: true })
  envVars!: Record<string, string> | null;

  @Column({ type: 'json', nullable: true })
  args!: string[] | null;

  @Column({ type: 'enum', enum: OUTPUT_ENCODINGS, default: 'utf8' })
  encoding!: OutputEncoding;

  @Column({ name: 'idempotency_key', type: 'varchar', length: 128, nullable: true })
  idempotencyKey!: string | null;

  @Column({ name: 'request_hash', type: 'char', length: 64, nullable: true })
  requestHash!: string | null;

  @Column({ name: 'trace_parent', type: 'varchar', length: 55, nullable: true })
  traceParent!: string | null;

  @Column({ name: 'input_files', type: 'json', nullable: true })
  inputFiles!: { path: string; content_base64: string }[] | null;

  @Column({ type: 'json', nullable: true })
  collect!: string[] | null;

  @Column({ name: 'context_id', type: 'varchar', length: 64, nullable: true })
  contextId!: string | null;

  @Column({ name: 'test_cases', type: 'json', nullable: true })
  testCases!: TestCase[] | null;

  @Column({ type: 'varchar', length: 8, nullable: true })
  compare!: CompareMode | null;

  @Column({ name: 'callback_url', type: 'varchar', length: 2048, nullable: true })
  callbackUrl!: string | null;

  @Column({ name: 'webhook_state', type: 'enum', enum: WEBHOOK_STATES, nullable: true })
  webhookState!: WebhookState | null;

  @Column({ name: 'webhook_format', type: 'varchar', length: 16, nullable: true })
  webhookFormat!: WebhookFormat | null;

  @Column({ type: 'int', default: 30 })
  timeout!: number;

  @Column({ type: 'mediumtext', nullable: true })
  stdout!: string | null;

  @Column({ type: 'mediumtext', nullable: true })
  stderr!: string | null;

  @Column({ name: 'stdout_truncated', type: 'boolean', default: false })
  stdoutTruncated!: boolean;

  @Column({ name: 'stderr_truncated', type: 'boolean', default: false })
  stderrTruncated!: boolean;

  @Column({ name: 'exit_code', type: 'int', nullable: true })
  exitCode!: number | null;

  @Column({ name: 'execution_time', type: 'float', nullable: true })
  executionTime!: number | null;

  @Column({ type: 'text', nullable: true })
  error!: string | null;

  @Column({ type: 'varchar', length: 32, nullable: true })
  reason!: ExecutionReason | null;

  @Column({ name: 'resource_usage', type: 'json', nullable: true })
  usage!: ResourceUsage | null;

  @Column({ type: 'json', nullable: true })
  artifacts!: Artifact[] | null;

  @Column({ type: 'json', nullable: true })
  collected!: Artifact[] | null;

  @Column({ name: 'skipped_artifacts', type: 'json', nullable: true })
  skippedArtifacts!: SkippedArtifacts | null;

  @Column({ type: 'json', nullable: true })
  results!: ExecutionResults | null;

  @Column({ name: 'context_state', type: 'json', nullable: true })
  contextState!: ContextState | null;

  @Column({ name: 'test_results', type: 'json', nullable: true })
  testResults!: TestResults | null;

  @Column({ name: 'compile_output', type: 'mediumtext', nullable: true })
  compileOutput!: string | null;

  @Column({ name: 'retry_count', type: 'int', nullable: true, default: 0 })
  retryCount!: number | null;

  @Column({ type: 'int', default: 1 })
  attempt!: number;

  @Column({ type: 'json', nullable: true })
  attempts!: ExecutionAttempt[] | null;

  @Column({ name: 'runtime_node', type: 'varchar', length: 128, nullable: true })
  runtimeNode!: string | null;

  @Column({ name: 'started_at', type: 'timestamp', precision: 3, nullable: true })
  startedAt!: Date | null;

  @Column({ name: 'last_heartbeat_at', type: 'timestamp', nullable: true })
  lastHeartbeatAt!: Date | null;

  @Column({ name: 'created_at', type: 'timestamp', precision: 3, default: () => 'CURRENT_TIMESTAMP(3)' })
  createdAt!: Date;

  @Column({ name: 'completed_at', type: 'timestamp', precision: 3, nullable: true })
  completedAt!: Date | null;

  @Column({ name: 'cancel_requested_at', type: 'timestamp', precision: 3, nullable: true })
  cancelRequestedAt!: Date | null;
}
