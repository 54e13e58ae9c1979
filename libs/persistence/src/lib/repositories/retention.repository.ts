import { loseNode } from '@sandbox/domain';
import { type DataSource } from 'typeorm';
import { LIVE_SESSIONS } from '../status-sql';

/** What retention found of an ended session: the row goes, and its stored workspace if it still has one. */
export interface EndedSession {
  readonly id: string;
  readonly workspacePath: string | null;
}

/**
 * The deletes of retention (the reaper), each bounded by a LIMIT and served by an index (init.sql:
 * sessions.idx_completed, idx_idempotency_created on both tables, runtime_nodes.idx_status), so a tick
 * never scans a table. Ages are judged on the database clock; every delete re-checks its condition, so
 * a row that came back to life meanwhile stays.
 */
export class RetentionRepository {
  constructor(private readonly ds: DataSource) {}

  /** Ended sessions older than `days` since their end, oldest first. */
  async endedSessions(days: number, limit: number): Promise<EndedSession[]> {
    const rows: { id: string; workspace_path: string | null }[] = await this.ds.query(
      `SELECT id, workspace_path FROM sessions
       WHERE completed_at < NOW() - INTERVAL ? DAY AND status NOT IN (${LIVE_SESSIONS})
       ORDER BY completed_at LIMIT ?`,
      [days, limit],
    );
    return rows.map((r) => ({ id: r.id, workspacePath: r.workspace_path }));
  }

  /**
   * Deletes these ended sessions and their executions: the executions first, `batch` rows per
   * statement (a session may have thousands, each with up to 2 MiB of output), then the sessions.
   */
  async deleteSessions(ids: readonly string[], days: number, batch: number): Promise<{ sessions: number; executions: number }> {
    if (!ids.length) return { sessions: 0, executions: 0 };
    let executions = 0;
    for (;;) {
      const r: { affectedRows: number } = await this.ds.query('DELETE FROM executions WHERE session_id IN (?) LIMIT ?', [ids, batch]);
      executions += r.affectedRows;
      if (r.affectedRows < batch) break;
    }
    const r: { affectedRows: number } = await this.ds.query(
      `DELETE FROM sessions WHERE id IN (?) AND completed_at < NOW() - INTERVAL ? DAY AND status NOT IN (${LIVE_SESSIONS})`,
      [ids, days],
    );
    return { sessions: r.affectedRows, executions };
  }

  /**
   * Forgets the Idempotency-Keys older than `hours` (as Stripe: a key is replayed for 24 h, then it
   * may name a new request), at most `limit` rows per table.
   */
  async forgetIdempotencyKeys(hours: number, limit: number): Promise<{ sessions: number; executions: number }> {
    const forget = async (table: 'sessions' | 'executions') => {
      const r: { affectedRows: number } = await this.ds.query(
        `UPDATE ${table} SET idempotency_key = NULL, request_hash = NULL
         WHERE idempotency_key IS NOT NULL AND created_at < NOW() - INTERVAL ? HOUR LIMIT ?`,
        [hours, limit],
      );
      return r.affectedRows;
    };
    return { sessions: await forget('sessions'), executions: await forget('executions') };
  }

  /** Nodes declared lost more than `hours` ago (no heartbeat since) that no live session is bound to. */
  async deadNodes(hours: number, limit: number): Promise<string[]> {
    const rows: { id: string }[] = await this.ds.query(
      `SELECT n.id FROM runtime_nodes n
       WHERE n.status = ? AND (n.last_heartbeat_at IS NULL OR n.last_heartbeat_at < NOW() - INTERVAL ? HOUR)
         AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.runtime_node = n.id AND s.status IN (${LIVE_SESSIONS}))
       ORDER BY n.id LIMIT ?`,
      [loseNode.to, hours, limit],
    );
    return rows.map((r) => r.id);
  }

  /** Deletes a dead node's row, unless it registered again meanwhile. */
  async deleteNode(id: string, hours: number): Promise<boolean> {
    const r: { affectedRows: number } = await this.ds.query(
      'DELETE FROM runtime_nodes WHERE id = ? AND status = ? AND (last_heartbeat_at IS NULL OR last_heartbeat_at < NOW() - INTERVAL ? HOUR)',
      [id, loseNode.to, hours],
    );
    return r.affectedRows === 1;
  }

  /** Which of these node ids have a row. */
  async knownNodes(ids: readonly string[]): Promise<Set<string>> {
    if (!ids.length) return new Set();
    const rows: { id: string }[] = await this.ds.query('SELECT id FROM runtime_nodes WHERE id IN (?)', [ids]);
    return new Set(rows.map((r) => r.id));
  }
}
