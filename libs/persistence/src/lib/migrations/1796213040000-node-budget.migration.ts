import { type MigrationInterface, type QueryRunner } from 'typeorm';

/** Every node's sandbox budget (memory, CPU) and what is free of it; a row from before reads 0 until its agent of this build reports. */
export class NodeBudget1796213040000 implements MigrationInterface {
  name = 'NodeBudget1796213040000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE runtime_nodes
      ADD COLUMN IF NOT EXISTS memory_bytes BIGINT NOT NULL DEFAULT 0 AFTER running,
      ADD COLUMN IF NOT EXISTS cpu_nanos BIGINT NOT NULL DEFAULT 0 AFTER memory_bytes,
      ADD COLUMN IF NOT EXISTS free_memory_bytes BIGINT NOT NULL DEFAULT 0 AFTER cpu_nanos,
      ADD COLUMN IF NOT EXISTS free_cpu_nanos BIGINT NOT NULL DEFAULT 0 AFTER free_memory_bytes,
      ADD COLUMN IF NOT EXISTS free_sessions INT NOT NULL DEFAULT 0 AFTER free_cpu_nanos`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE runtime_nodes
      DROP COLUMN IF EXISTS memory_bytes, DROP COLUMN IF EXISTS cpu_nanos, DROP COLUMN IF EXISTS free_memory_bytes,
      DROP COLUMN IF EXISTS free_cpu_nanos, DROP COLUMN IF EXISTS free_sessions`);
  }
}
