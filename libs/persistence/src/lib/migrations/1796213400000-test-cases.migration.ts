import { type MigrationInterface, type QueryRunner } from 'typeorm';

/** Test cases of an execution and their verdicts, the compiler's output, and the C and C++ template. */
export class TestCases1796213400000 implements MigrationInterface {
  name = 'TestCases1796213400000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE executions
      ADD COLUMN IF NOT EXISTS test_cases JSON NULL AFTER context_id,
      ADD COLUMN IF NOT EXISTS compare VARCHAR(8) NULL AFTER test_cases,
      ADD COLUMN IF NOT EXISTS test_results JSON NULL AFTER context_state,
      ADD COLUMN IF NOT EXISTS compile_output MEDIUMTEXT NULL AFTER test_results`);
    await db.query(`INSERT IGNORE INTO templates (id, name, image, base_image, language, pre_installed_packages, default_resources_cpu, default_resources_memory, default_resources_disk, limits) VALUES
      ('gcc', 'C and C++ (GCC)', 'sandbox-gcc:12', 'gcc:12-bookworm', 'c', JSON_ARRAY(), '1', '512Mi', '1Gi',
       JSON_OBJECT('max_cpu', '2', 'max_memory', '2Gi', 'max_disk', '4Gi', 'pids', 128, 'timeout_default_seconds', 30, 'timeout_max_seconds', 300, 'network', FALSE))`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query("DELETE FROM templates WHERE id = 'gcc' AND NOT EXISTS (SELECT 1 FROM sessions WHERE template_id = 'gcc')");
    await db.query('ALTER TABLE executions DROP COLUMN IF EXISTS compile_output, DROP COLUMN IF EXISTS test_results, DROP COLUMN IF EXISTS compare, DROP COLUMN IF EXISTS test_cases');
  }
}
