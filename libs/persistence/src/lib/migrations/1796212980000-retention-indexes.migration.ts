import { type MigrationInterface, type QueryRunner } from 'typeorm';

/** Retention's batches read by index: the oldest ended sessions, and the keyed rows whose Idempotency-Key expires. */
export class RetentionIndexes1796212980000 implements MigrationInterface {
  name = 'RetentionIndexes1796212980000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE sessions
      ADD INDEX IF NOT EXISTS idx_completed (completed_at),
      ADD INDEX IF NOT EXISTS idx_idempotency_created (idempotency_key, created_at)`);
    await db.query('ALTER TABLE executions ADD INDEX IF NOT EXISTS idx_idempotency_created (idempotency_key, created_at)');
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('ALTER TABLE sessions DROP INDEX IF EXISTS idx_completed, DROP INDEX IF EXISTS idx_idempotency_created');
    await db.query('ALTER TABLE executions DROP INDEX IF EXISTS idx_idempotency_created');
  }
}
