import { type MigrationInterface, type QueryRunner } from 'typeorm';

/** The languages and versions each template's image runs, as its sandboxes say them (GET /v1/runtimes). */
export class TemplateRuntimes1796213460000 implements MigrationInterface {
  name = 'TemplateRuntimes1796213460000';

  async up(db: QueryRunner): Promise<void> {
    await db.query('ALTER TABLE templates ADD COLUMN IF NOT EXISTS runtimes JSON NULL AFTER limits');
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('ALTER TABLE templates DROP COLUMN IF EXISTS runtimes');
  }
}
