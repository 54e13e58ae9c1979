import { type MigrationInterface, type QueryRunner } from 'typeorm';

/** The placement queue (sessions waiting for a node, in the order they asked) and the machine-readable cause of a failed session. */
export class SessionPlacement1796213100000 implements MigrationInterface {
  name = 'SessionPlacement1796213100000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE sessions
      ADD COLUMN IF NOT EXISTS error_code VARCHAR(32) NULL AFTER error,
      ADD COLUMN IF NOT EXISTS placement_requested_at TIMESTAMP(3) NULL AFTER error_code,
      ADD INDEX IF NOT EXISTS idx_placement_requested (placement_requested_at)`);
    // a session still unplaced asked for a node when it was created: it joins the queue in that
    // order (and fails no_capacity when that is longer ago than the bounded wait) instead of never
    await db.query(
      "UPDATE sessions SET placement_requested_at = created_at, updated_at = updated_at WHERE status = 'creating' AND runtime_node IS NULL AND placement_requested_at IS NULL",
    );
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE sessions
      DROP INDEX IF EXISTS idx_placement_requested, DROP COLUMN IF EXISTS placement_requested_at, DROP COLUMN IF EXISTS error_code`);
  }
}
