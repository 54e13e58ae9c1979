import { type MigrationInterface, type QueryRunner } from 'typeorm';

/** Per-execution inputs: environment over the session's, argv, and base64 for binary stdin and output. */
export class ExecutionInputs1796213220000 implements MigrationInterface {
  name = 'ExecutionInputs1796213220000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE executions
      ADD COLUMN IF NOT EXISTS env_vars JSON NULL AFTER stdin,
      ADD COLUMN IF NOT EXISTS args JSON NULL AFTER env_vars,
      ADD COLUMN IF NOT EXISTS encoding ENUM('utf8', 'base64') NOT NULL DEFAULT 'utf8' AFTER args`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('ALTER TABLE executions DROP COLUMN IF EXISTS encoding, DROP COLUMN IF EXISTS args, DROP COLUMN IF EXISTS env_vars');
  }
}
