import { NODE_STATUSES, type NodeStatus } from '@sandbox/domain';
import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

// mysql2 returns BIGINT as a string; budgets stay far below 2^53
const BIGINT = { to: (v: number) => v, from: (v: string | number) => Number(v) };

@Entity({ name: 'runtime_nodes' })
@Index('idx_status', ['status'])
@Index('idx_last_heartbeat', ['lastHeartbeatAt'])
export class RuntimeNodeEntity {
  @PrimaryColumn({ type: 'varchar', length: 128 })
  id!: string;

  @Column({ type: 'varchar', length: 255 })
  hostname!: string;

  @Column({ type: 'varchar', length: 64 })
  version!: string;

  @Column({ type: 'enum', enum: NODE_STATUSES })
  status!: NodeStatus;

  @Column({ type: 'int' })
  capacity!: number;

  @Column({ type: 'int', default: 0 })
  running!: number;

  @Column({ name: 'memory_bytes', type: 'bigint', default: 0, transformer: BIGINT })
  memoryBytes!: number;

  @Column({ name: 'cpu_nanos', type: 'bigint', default: 0, transformer: BIGINT })
  cpuNanos!: number;

  @Column({ name: 'free_memory_bytes', type: 'bigint', default: 0, transformer: BIGINT })
  freeMemoryBytes!: number;

  @Column({ name: 'free_cpu_nanos', type: 'bigint', default: 0, transformer: BIGINT })
  freeCpuNanos!: number;

  @Column({ name: 'free_sessions', type: 'int', default: 0 })
  freeSessions!: number;

  @Column({ type: 'json', nullable: true })
  labels!: Record<string, string> | null;

  @Column({ name: 'last_heartbeat_at', type: 'timestamp', nullable: true })
  lastHeartbeatAt!: Date | null;

  @Column({ name: 'started_at', type: 'timestamp', default: () => 'CURRENT_TIMESTAMP' })
  startedAt!: Date;
}
