import { type MigrationInterface, type QueryRunner } from 'typeorm';

/** Signed result webhooks: an execution's callback_url and its delivery's state, and the delivery log. */
export class Webhooks1796213520000 implements MigrationInterface {
  name = 'Webhooks1796213520000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE executions
      ADD COLUMN IF NOT EXISTS callback_url VARCHAR(2048) NULL AFTER compare,
      ADD COLUMN IF NOT EXISTS webhook_state ENUM('pending', 'queued', 'delivered', 'failed') NULL AFTER callback_url,
      ADD COLUMN IF NOT EXISTS webhook_format VARCHAR(16) NULL AFTER webhook_state,
      ADD INDEX IF NOT EXISTS idx_webhook_state (webhook_state)`);
    await db.query(`CREATE TABLE IF NOT EXISTS webhook_deliveries (
      id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
      execution_id VARCHAR(64) NOT NULL,
      attempt INT NOT NULL,
      url VARCHAR(2048) NOT NULL,
      status_code INT NULL,
      error VARCHAR(1024) NULL,
      duration_ms INT NOT NULL,
      created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      INDEX idx_execution (execution_id, id),
      CONSTRAINT fk_webhook_deliveries_execution FOREIGN KEY (execution_id) REFERENCES executions(id) ON DELETE CASCADE
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP TABLE IF EXISTS webhook_deliveries');
    await db.query('ALTER TABLE executions DROP INDEX IF EXISTS idx_webhook_state, DROP COLUMN IF EXISTS webhook_format, DROP COLUMN IF EXISTS webhook_state, DROP COLUMN IF EXISTS callback_url');
  }
}
