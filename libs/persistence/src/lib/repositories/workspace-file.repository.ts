import { type CommitResult, type StoredFile, type WorkspaceChange } from '@sandbox/domain';
import { type DataSource, type EntityManager } from 'typeorm';
import { LIVE_SESSIONS } from '../status-sql';

/** A manifest row: the file, and when it was last written. */
export interface ManifestFile extends StoredFile {
  readonly updatedAt: Date;
}

interface Row {
  updated_at: Date;
  path: Buffer;
  object_key: string;
  size: string | number;
  sha256: string;
  etag: string;
}

const BATCH = 500;
// deadlock, lock wait timeout: the transaction was rolled back whole and can simply run again
const RETRIED_ERRNO = new Set([1213, 1205]);
const COMMIT_TRIES = 3;

/**
 * The manifest of session workspaces (table workspace_files), their state of record. A change becomes
 * visible only through `commit`: one transaction that locks the writing attempt's execution row,
 * checks the attempt is still the current one, applies the rows and bumps the session's
 * workspace_version. The reaper's retry of an execution updates that same row, so a commit and a retry
 * are serialised: either the commit lands before the retry exists (and the retry pulls it), or it is
 * fenced out and changes nothing.
 */
export class WorkspaceFileRepository {
  constructor(private readonly ds: DataSource) {}

  /** Up to `limit` files in path order after `after`, under `prefix` when given: one page of a stream. */
  async page(sessionId: string, query: { after?: string | null; prefix?: string; limit: number }): Promise<ManifestFile[]> {
    const where = ['session_id = ?'];
    const params: unknown[] = [sessionId];
    if (query.after != null) {
      where.push('path > ?');
      params.push(Buffer.from(query.after));
    }
    if (query.prefix) {
      // paths are UTF-8, which never holds byte 0xFF: [prefix, prefix + 0xFF) is exactly "starts with prefix"
      const prefix = Buffer.from(query.prefix);
      where.push('path >= ? AND path < ?');
      params.push(prefix, Buffer.concat([prefix, Buffer.from([0xff])]));
    }
    params.push(query.limit);
    const rows: Row[] = await this.ds.query(
      `SELECT path, object_key, size, sha256, etag, updated_at FROM workspace_files WHERE ${where.join(' AND ')} ORDER BY path LIMIT ?`,
      params,
    );
    return rows.map(toStoredFile);
  }

  /** Every file of the session, read a page at a time (never the whole manifest at once). */
  async *stream(sessionId: string, pageSize = 1000): AsyncIterable<ManifestFile[]> {
    for (let after: string | null = null; ; ) {
      const page = await this.page(sessionId, { after, limit: pageSize });
      if (page.length) yield page;
      if (page.length < pageSize) return;
      after = page[page.length - 1]!.path;
    }
  }

  async find(sessionId: string, path: string): Promise<ManifestFile | null> {
    const rows: Row[] = await this.ds.query('SELECT path, object_key, size, sha256, etag, updated_at FROM workspace_files WHERE session_id = ? AND path = ?', [
      sessionId,
      Buffer.from(path),
    ]);
    return rows[0] ? toStoredFile(rows[0]) : null;
  }

  /** How many files, and bytes, the session's workspace holds. */
  async totals(sessionId: string): Promise<{ files: number; bytes: number }> {
    const [row] = (await this.ds.query('SELECT COUNT(*) AS files, COALESCE(SUM(size), 0) AS bytes FROM workspace_files WHERE session_id = ?', [sessionId])) as {
      files: string | number;
      bytes: string | number;
    }[];
    return { files: Number(row?.files ?? 0), bytes: Number(row?.bytes ?? 0) };
  }

  /** Makes the change the session's workspace, if its writer may still write (see the class). */
  async commit(change: WorkspaceChange): Promise<CommitResult> {
    for (let tries = 1; ; tries++) {
      try {
        return await this.ds.transaction((m) => this.apply(m, change));
      } catch (e) {
        if (tries >= COMMIT_TRIES || !RETRIED_ERRNO.has((e as { errno?: number }).errno ?? 0)) throw e;
      }
    }
  }

  /** Forgets the manifest of a session whose objects retention deleted. */
  async deleteSession(sessionId: string): Promise<number> {
    const r: { affectedRows: number } = await this.ds.query('DELETE FROM workspace_files WHERE session_id = ?', [sessionId]);
    return r.affectedRows;
  }

  private async apply(m: EntityManager, c: WorkspaceChange): Promise<CommitResult> {
    if (c.fence) {
      const own = await m.query(`SELECT id FROM executions WHERE id = ? AND attempt = ? AND runtime_node = ? AND status = 'running' FOR UPDATE`, [
        c.fence.id,
        c.fence.attempt,
        c.fence.node,
      ]);
      if (!own.length) return { committed: false, reason: 'fenced' };
    }
    const [session] = (await m.query(`SELECT workspace_version, status IN (${LIVE_SESSIONS}) AS live FROM sessions WHERE id = ? FOR UPDATE`, [c.sessionId])) as {
      workspace_version: number;
      live: number;
    }[];
    if (!session || (!c.fence && Number(session.live) !== 1)) return { committed: false, reason: 'session_ended' };
    const base = Number(session.workspace_version);
    const version = base + 1;
    const paths = [...c.upserts.map((u) => u.path), ...c.deletes];
    const held = new Map<string, string>();
    for (let i = 0; i < paths.length; i += BATCH) {
      const batch = paths.slice(i, i + BATCH).map((p) => Buffer.from(p));
      const rows: { path: Buffer; object_key: string }[] = await m.query(
        `SELECT path, object_key FROM workspace_files WHERE session_id = ? AND path IN (${batch.map(() => '?').join(', ')}) FOR UPDATE`,
        [c.sessionId, ...batch],
      );
      for (const r of rows) held.set(r.path.toString('utf8'), r.object_key);
    }
    const missing = c.deletes.filter((p) => !held.has(p));
    // deleting only paths it does not hold changes nothing: no new version for agents to pull
    if (!c.upserts.length && missing.length === c.deletes.length) return { committed: true, base, version: base, released: [], missing };
    for (let i = 0; i < c.deletes.length; i += BATCH) {
      const batch = c.deletes.slice(i, i + BATCH).map((p) => Buffer.from(p));
      await m.query(`DELETE FROM workspace_files WHERE session_id = ? AND path IN (${batch.map(() => '?').join(', ')})`, [c.sessionId, ...batch]);
    }
    for (let i = 0; i < c.upserts.length; i += BATCH) {
      const batch = c.upserts.slice(i, i + BATCH);
      await m.query(
        `INSERT INTO workspace_files (session_id, path, object_key, size, sha256, etag, version, written_by) VALUES ${batch.map(() => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}
         ON DUPLICATE KEY UPDATE object_key = VALUES(object_key), size = VALUES(size), sha256 = VALUES(sha256), etag = VALUES(etag),
           version = VALUES(version), written_by = VALUES(written_by), updated_at = CURRENT_TIMESTAMP(3)`,
        batch.flatMap((u) => [c.sessionId, Buffer.from(u.path), u.key, u.size, u.sha256, u.etag, version, c.writer]),
      );
    }
    await m.query('UPDATE sessions SET workspace_version = ? WHERE id = ?', [version, c.sessionId]);
    const kept = new Set(c.upserts.map((u) => u.key));
    return {
      committed: true,
      base,
      version,
      released: [...held.values()].filter((key) => !kept.has(key)),
      missing,
    };
  }
}

function toStoredFile(r: Row): ManifestFile {
  return { path: r.path.toString('utf8'), key: r.object_key, size: Number(r.size), sha256: r.sha256, etag: r.etag, updatedAt: r.updated_at };
}
