import { randomBytes } from 'node:crypto';
import { bindSession } from '@sandbox/domain';
import { type AttemptFence, dataSourceOptions, ExecutionRepository, SessionRepository, WorkspaceFileRepository } from '@sandbox/persistence';
import { DataSource } from 'typeorm';
import { createTestDatabase, type TestDatabase } from './test-database';

/** A running attempt of an execution of a session, as an agent holds it while it syncs the workspace. */
export interface TestAttempt {
  readonly session: { readonly id: string; readonly workspaceVersion: number };
  readonly fence: AttemptFence;
}

export interface TestManifest {
  readonly manifest: WorkspaceFileRepository;
  readonly sessions: SessionRepository;
  /** A new session bound to `node`, running its first execution. */
  attempt(node?: string): Promise<TestAttempt>;
  /** The session's next execution, claimed by the same node after the attempt `a` completed. */
  next(a: TestAttempt): Promise<TestAttempt>;
  /** The reaper's retry of the attempt, claimed again by `node`: the next attempt of the same execution. */
  retry(a: TestAttempt, node?: string): Promise<TestAttempt>;
  /** The session as it is now (its current workspace_version). */
  current(sessionId: string): Promise<{ id: string; workspaceVersion: number }>;
  drop(): Promise<void>;
}

/**
 * A database of its own with the workspace manifest and running attempts to write it, for the sync
 * engine's tests and bench: its commits are fenced exactly as the agent's are.
 */
export async function createTestManifest(label: string): Promise<TestManifest> {
  const db: TestDatabase = await createTestDatabase(label);
  const ds = await new DataSource(dataSourceOptions(db.url, { poolSize: 4 })).initialize();
  const sessions = new SessionRepository(ds);
  const executions = new ExecutionRepository(ds);
  const claim = async (sessionId: string, node: string): Promise<TestAttempt> => {
    const e = await executions.claimNext(sessionId, node);
    if (!e) throw new Error(`no execution of ${sessionId} to claim`);
    return { session: await current(sessionId), fence: { id: e.id, attempt: e.attempt, node, startedAt: e.startedAt } };
  };
  const current = async (id: string) => ({ id, workspaceVersion: (await sessions.findById(id))!.workspaceVersion });
  return {
    manifest: new WorkspaceFileRepository(ds),
    sessions,
    current,
    async attempt(node = 'test-node') {
      const id = `sess_${randomBytes(5).toString('hex')}`;
      await sessions.insertWithinCap(
        { id, templateId: 'python-basic', tenant: 't', runtimeType: 'docker', envVars: {}, timeout: 300, resources: { cpu: '1', memory: '512Mi', disk: '1Gi' }, workspacePath: null },
        1_000_000,
      );
      await sessions.bind(id, node, 'c', bindSession);
      await executions.insertWithinCap({ id: `exec_${randomBytes(5).toString('hex')}`, sessionId: id, code: 'x', language: 'python', stdin: null, timeout: 30, collect: null }, 1000);
      return claim(id, node);
    },
    async next(a) {
      await ds.query("UPDATE executions SET status = 'completed', completed_at = CURRENT_TIMESTAMP(3) WHERE id = ?", [a.fence.id]);
      await executions.insertWithinCap({ id: `exec_${randomBytes(5).toString('hex')}`, sessionId: a.session.id, code: 'x', language: 'python', stdin: null, timeout: 30, collect: null }, 1000);
      return claim(a.session.id, a.fence.node);
    },
    async retry(a, node = a.fence.node) {
      const { fence } = a;
      await executions.endLostAttempt({ id: fence.id, sessionId: a.session.id, attempt: fence.attempt, retryCount: 0, node: fence.node, startedAt: null, cancelRequested: false }, 'retry', 'lost');
      if (node !== fence.node) await ds.query('UPDATE sessions SET runtime_node = ? WHERE id = ?', [node, a.session.id]);
      return claim(a.session.id, node);
    },
    async drop() {
      await ds.destroy();
      await db.drop();
    },
  };
}
