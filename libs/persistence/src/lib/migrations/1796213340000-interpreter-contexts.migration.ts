import { type MigrationInterface, type QueryRunner } from 'typeorm';

/** Interpreter contexts, executions run as their cells, and rich results. */
export class InterpreterContexts1796213340000 implements MigrationInterface {
  name = 'InterpreterContexts1796213340000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`CREATE TABLE IF NOT EXISTS interpreter_contexts (
      id VARCHAR(64) PRIMARY KEY,
      session_id VARCHAR(64) NOT NULL,
      language VARCHAR(16) NOT NULL,
      generation INT NOT NULL DEFAULT 1,
      container_id VARCHAR(128) NULL,
      created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      updated_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
      INDEX idx_session (session_id),
      CONSTRAINT fk_interpreter_contexts_session FOREIGN KEY (session_id) REFERENCES sessions(id) ON DELETE CASCADE
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await db.query(`ALTER TABLE executions
      ADD COLUMN IF NOT EXISTS context_id VARCHAR(64) NULL AFTER collect,
      ADD COLUMN IF NOT EXISTS results JSON NULL AFTER skipped_artifacts,
      ADD COLUMN IF NOT EXISTS context_state JSON NULL AFTER results`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('ALTER TABLE executions DROP COLUMN IF EXISTS context_state, DROP COLUMN IF EXISTS results, DROP COLUMN IF EXISTS context_id');
    await db.query('DROP TABLE IF EXISTS interpreter_contexts');
  }
}
