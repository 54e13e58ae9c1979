import { type MigrationInterface, type QueryRunner } from 'typeorm';

/** The workspace manifest: every session's stored files, the state of record of its workspace. */
export class WorkspaceManifest1796212800000 implements MigrationInterface {
  name = 'WorkspaceManifest1796212800000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`CREATE TABLE IF NOT EXISTS workspace_files (
      session_id VARCHAR(64) NOT NULL,
      path VARBINARY(1024) NOT NULL,
      object_key VARCHAR(512) NOT NULL,
      size BIGINT NOT NULL,
      sha256 CHAR(64) NOT NULL,
      etag VARCHAR(128) NOT NULL,
      version INT NOT NULL,
      written_by VARCHAR(128) NOT NULL,
      updated_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      PRIMARY KEY (session_id, path),
      CONSTRAINT fk_workspace_files_session FOREIGN KEY (session_id) REFERENCES sessions(id) ON DELETE CASCADE
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
  }

  // sessions stored before the manifest have no rows in it: their workspaces read as empty
  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP TABLE IF EXISTS workspace_files');
  }
}
