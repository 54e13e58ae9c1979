import { type MigrationInterface, type QueryRunner } from 'typeorm';

/** Per-execution input files, written to the workspace before the run. */
export class ExecutionFiles1796213280000 implements MigrationInterface {
  name = 'ExecutionFiles1796213280000';

  async up(db: QueryRunner): Promise<void> {
    await db.query('ALTER TABLE executions ADD COLUMN IF NOT EXISTS input_files JSON NULL AFTER trace_parent');
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('ALTER TABLE executions DROP COLUMN IF EXISTS input_files');
  }
}
