import { type MigrationInterface, type QueryRunner } from 'typeorm';

/** When a client asked to stop a running execution: its agent stops it, and the reaper never retries it. */
export class ExecutionCancel1796213160000 implements MigrationInterface {
  name = 'ExecutionCancel1796213160000';

  async up(db: QueryRunner): Promise<void> {
    await db.query('ALTER TABLE executions ADD COLUMN IF NOT EXISTS cancel_requested_at TIMESTAMP(3) NULL AFTER completed_at');
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('ALTER TABLE executions DROP COLUMN IF EXISTS cancel_requested_at');
  }
}
