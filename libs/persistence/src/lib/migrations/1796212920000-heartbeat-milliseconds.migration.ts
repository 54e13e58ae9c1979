import { type MigrationInterface, type QueryRunner } from 'typeorm';

/** Heartbeats stamped to the ms: the reaper and the agents' fences judge staleness to the ms. */
export class HeartbeatMilliseconds1796212920000 implements MigrationInterface {
  name = 'HeartbeatMilliseconds1796212920000';

  async up(db: QueryRunner): Promise<void> {
    await db.query('ALTER TABLE executions MODIFY COLUMN last_heartbeat_at TIMESTAMP(3) NULL');
    await db.query('ALTER TABLE runtime_nodes MODIFY COLUMN last_heartbeat_at TIMESTAMP(3) NULL');
  }

  // the fractions of a second go, the rows stay
  async down(db: QueryRunner): Promise<void> {
    await db.query('ALTER TABLE executions MODIFY COLUMN last_heartbeat_at TIMESTAMP NULL');
    await db.query('ALTER TABLE runtime_nodes MODIFY COLUMN last_heartbeat_at TIMESTAMP NULL');
  }
}
