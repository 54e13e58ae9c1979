import { type AuditAction, type AuditDetailValue, type AuditEvent } from '@sandbox/domain';
import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** Append-only: init.sql's triggers refuse UPDATE and DELETE on the table. */
@Entity({ name: 'audit_events' })
@Index('idx_occurred', ['occurredAt'])
@Index('idx_target', ['targetType', 'targetId'])
export class AuditEventEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  @Column({ name: 'occurred_at', type: 'timestamp', precision: 3, default: () => 'CURRENT_TIMESTAMP(3)' })
  occurredAt!: Date;

  @Column({ type: 'varchar', length: 64 })
  actor!: string;

  @Column({ type: 'varchar', length: 64, nullable: true })
  tenant!: string | null;

  @Column({ type: 'varchar', length: 64 })
  action!: AuditAction;

  @Column({ name: 'target_type', type: 'varchar', length: 32 })
  targetType!: AuditEvent['targetType'];

  @Column({ name: 'target_id', type: 'varchar', length: 128 })
  targetId!: string;

  @Column({ type: 'varchar', length: 16 })
  outcome!: string;

  @Column({ name: 'request_id', type: 'varchar', length: 64, nullable: true })
  requestId!: string | null;

  @Column({ type: 'varchar', length: 64, nullable: true })
  ip!: string | null;

  @Column({ type: 'json', nullable: true })
  detail!: Record<string, AuditDetailValue> | null;
}
