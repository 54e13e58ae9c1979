import { NODE_STATUSES, type NodeStatus } from '@sandbox/domain';
import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

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

  @Column({ type: 'json', nullable: true })
  labels!: Record<string, string> | null;

  @Column({ name: 'last_heartbeat_at', type: 'timestamp', nullable: true })
  lastHeartbeatAt!: Date | null;

  @Column({ name: 'started_at', type: 'timestamp', default: () => 'CURRENT_TIMESTAMP' })
  startedAt!: Date;
}
