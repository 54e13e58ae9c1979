import { type MigrationInterface, type QueryRunner } from 'typeorm';

const APPEND_ONLY = "SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'audit_events is append-only'";

/** The audit log's delete trigger lets the admin prune through (@sandbox_audit_prune = 1 on its connection). */
export class AuditPrune1796212860000 implements MigrationInterface {
  name = 'AuditPrune1796212860000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`CREATE OR REPLACE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events FOR EACH ROW
BEGIN
    IF @sandbox_audit_prune IS NULL OR @sandbox_audit_prune <> 1 THEN
        ${APPEND_ONLY};
    END IF;
END`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`CREATE OR REPLACE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events FOR EACH ROW
    ${APPEND_ONLY}`);
  }
}
