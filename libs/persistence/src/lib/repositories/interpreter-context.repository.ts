import { type ContextLanguage, type InterpreterContext } from '@sandbox/domain';
import { type DataSource } from 'typeorm';
import { withNamedLock } from '../named-lock';

interface Row {
  id: string;
  session_id: string;
  language: ContextLanguage;
  generation: number;
  container_id: string | null;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = 'id, session_id, language, generation, container_id, created_at, updated_at';

/**
 * Interpreter contexts (table interpreter_contexts). A context's interpreter is started by its first
 * cell, which binds it to that sandbox with one conditional UPDATE; a restart bumps its generation.
 * Its rows go with their session (foreign key, ON DELETE CASCADE).
 */
export class InterpreterContextRepository {
  constructor(private readonly ds: DataSource) {}

  /** Stores a new context unless the session holds `cap` already (then how many it holds). */
  async insertWithinCap(context: Pick<InterpreterContext, 'id' | 'sessionId' | 'language'>, cap: number): Promise<number | null> {
    return withNamedLock(this.ds, `sandbox.contexts.${context.sessionId}`, async (m) => {
      const [{ n }] = await m.query('SELECT COUNT(*) AS n FROM interpreter_contexts WHERE session_id = ?', [context.sessionId]);
      if (Number(n) >= cap) return Number(n);
      await m.query('INSERT INTO interpreter_contexts (id, session_id, language) VALUES (?, ?, ?)', [context.id, context.sessionId, context.language]);
      return null;
    });
  }

  async findById(id: string): Promise<InterpreterContext | null> {
    const rows: Row[] = await this.ds.query(`SELECT ${COLUMNS} FROM interpreter_contexts WHERE id = ?`, [id]);
    return rows[0] ? toContext(rows[0]) : null;
  }

  async listBySession(sessionId: string): Promise<InterpreterContext[]> {
    const rows: Row[] = await this.ds.query(`SELECT ${COLUMNS} FROM interpreter_contexts WHERE session_id = ? ORDER BY id`, [sessionId]);
    return rows.map(toContext);
  }

  /** Asks for a fresh interpreter at the next cell. False when the context is gone. */
  async restart(id: string): Promise<boolean> {
    const r: { affectedRows: number } = await this.ds.query('UPDATE interpreter_contexts SET generation = generation + 1 WHERE id = ?', [id]);
    return r.affectedRows === 1;
  }

  async delete(id: string): Promise<boolean> {
    const r: { affectedRows: number } = await this.ds.query('DELETE FROM interpreter_contexts WHERE id = ?', [id]);
    return r.affectedRows === 1;
  }

  /**
   * Binds a context not bound yet to the sandbox its first cell runs in; the context as it is then
   * (bound there or elsewhere), or null when it was deleted.
   */
  async bind(id: string, containerId: string): Promise<InterpreterContext | null> {
    await this.ds.query('UPDATE interpreter_contexts SET container_id = ? WHERE id = ? AND container_id IS NULL', [containerId, id]);
    return this.findById(id);
  }
}

function toContext(r: Row): InterpreterContext {
  return { id: r.id, sessionId: r.session_id, language: r.language, generation: r.generation, containerId: r.container_id, createdAt: r.created_at, updatedAt: r.updated_at };
}
