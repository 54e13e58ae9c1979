import { bindSession, terminateSession, type WorkspaceUpsert } from '@sandbox/domain';
import { createTestDatabase, type TestDatabase } from '@sandbox/testing';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../data-source-options';
import { ExecutionRepository } from './execution.repository';
import { SessionRepository } from './session.repository';
import { WorkspaceFileRepository } from './workspace-file.repository';

const file = (path: string, key = `k/${path}`): WorkspaceUpsert => ({ path, key, size: path.length, sha256: 'a'.repeat(64), etag: 'e' });

/** The manifest's fenced commit against the reaper's retry, on MariaDB, each on its own connections. */
describe('workspace manifest on MariaDB', () => {
  let db: TestDatabase;
  let agent: DataSource;
  let reaper: DataSource;
  let sessions: SessionRepository;
  let executions: ExecutionRepository;
  let manifest: WorkspaceFileRepository;
  let seq = 0;

  /** A session bound to node-a running one execution (attempt 1). */
  const running = async () => {
    const id = `sess_${++seq}`;
    await sessions.insertWithinCap({ id, templateId: 'python-basic', tenant: 't', runtimeType: 'docker', envVars: {}, timeout: 300, resources: { cpu: '1', memory: '512Mi', disk: '1Gi' }, workspacePath: null }, 1000);
    await sessions.bind(id, 'node-a', 'c', bindSession);
    await executions.insertWithinCap({ id: `exec_${seq}`, sessionId: id, code: 'x', language: 'python', stdin: null, timeout: 30, collect: null }, 1000);
    const e = (await executions.claimNext(id, 'node-a'))!;
    return { sessionId: id, fence: { id: e.id, attempt: e.attempt, node: 'node-a' } };
  };
  const retry = (sessionId: string, fence: { id: string; attempt: number; node: string }) =>
    new ExecutionRepository(reaper).endLostAttempt({ id: fence.id, sessionId, attempt: fence.attempt, retryCount: 0, node: fence.node, startedAt: null, cancelRequested: false }, 'retry', 'lost');
  const paths = async (sessionId: string) => (await manifest.page(sessionId, { limit: 100 })).map((f) => f.path);

  beforeAll(async () => {
    db = await createTestDatabase('manifest');
    agent = await new DataSource(dataSourceOptions(db.url, { poolSize: 4 })).initialize();
    reaper = await new DataSource(dataSourceOptions(db.url, { poolSize: 4 })).initialize();
    sessions = new SessionRepository(agent);
    executions = new ExecutionRepository(agent);
    manifest = new WorkspaceFileRepository(agent);
  });

  afterAll(async () => {
    await agent?.destroy();
    await reaper?.destroy();
    await db?.drop();
  });

  it('commits the current attempt: rows applied, version bumped, replaced objects released', async () => {
    const { sessionId, fence } = await running();
    const first = await manifest.commit({ sessionId, fence, writer: 'w1', upserts: [file('a'), file('b')], deletes: [] });
    expect(first).toEqual({ committed: true, base: 0, version: 1, released: [], missing: [] });
    const second = await manifest.commit({ sessionId, fence, writer: 'w1', upserts: [file('a', 'k/a2')], deletes: ['b', 'never'] });
    expect(second).toEqual({ committed: true, base: 1, version: 2, released: ['k/a', 'k/b'], missing: ['never'] });
    expect(await manifest.page(sessionId, { limit: 10 })).toEqual([{ path: 'a', key: 'k/a2', size: 1, sha256: 'a'.repeat(64), etag: 'e', updatedAt: expect.any(Date) }]);
    expect((await sessions.findById(sessionId))?.workspaceVersion).toBe(2);
    // deleting what is not there changes nothing, not even the version
    expect(await manifest.commit({ sessionId, fence, writer: 'w1', upserts: [], deletes: ['never'] })).toEqual({ committed: true, base: 2, version: 2, released: [], missing: ['never'] });
    expect((await sessions.findById(sessionId))?.workspaceVersion).toBe(2);
  });

  it('fences out the push of an attempt the reaper retried: nothing recorded, version unchanged', async () => {
    const { sessionId, fence } = await running();
    await manifest.commit({ sessionId, fence, writer: 'w1', upserts: [file('kept')], deletes: [] });
    expect(await retry(sessionId, fence)).toBe(true);
    const late = await manifest.commit({ sessionId, fence, writer: 'w1', upserts: [file('late')], deletes: ['kept'] });
    expect(late).toEqual({ committed: false, reason: 'fenced' });
    expect(await paths(sessionId)).toEqual(['kept']);
    expect((await sessions.findById(sessionId))?.workspaceVersion).toBe(1);
  });

  it('serialises a push against a racing retry: whichever wins, the push is recorded exactly when it says it committed', async () => {
    for (let round = 0; round < 12; round++) {
      const { sessionId, fence } = await running();
      const [push, retried] = await Promise.all([
        manifest.commit({ sessionId, fence, writer: 'w1', upserts: [file('x')], deletes: [] }),
        retry(sessionId, fence),
      ]);
      expect(retried).toBe(true);
      expect(await paths(sessionId)).toEqual(push.committed ? ['x'] : []);
      expect((await sessions.findById(sessionId))?.workspaceVersion).toBe(push.committed ? 1 : 0);
    }
  });

  it("takes an upload through the API only while the session lives", async () => {
    const { sessionId } = await running();
    expect(await manifest.commit({ sessionId, fence: null, writer: 'api', upserts: [file('up')], deletes: [] })).toMatchObject({ committed: true, version: 1 });
    await sessions.transition(sessionId, terminateSession);
    expect(await manifest.commit({ sessionId, fence: null, writer: 'api', upserts: [file('late')], deletes: [] })).toEqual({ committed: false, reason: 'session_ended' });
    expect(await paths(sessionId)).toEqual(['up']);
  });

  it('streams the manifest in path order, page by page, with prefixes and any UTF-8 name', async () => {
    const { sessionId, fence } = await running();
    const names = ['b/2', 'b/1', 'a', 'bz', 'b\u00e9', 'b/\u{1F600}', ...Array.from({ length: 25 }, (_, i) => `many/${String(i).padStart(2, '0')}`)];
    await manifest.commit({ sessionId, fence, writer: 'w1', upserts: names.map((n) => file(n)), deletes: [] });
    const pages = [];
    for await (const page of manifest.stream(sessionId, 10)) pages.push(page.map((f) => f.path));
    expect(pages.map((p) => p.length)).toEqual([10, 10, 10, 1]);
    expect(pages.flat()).toEqual([...names].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))));
    expect((await manifest.page(sessionId, { prefix: 'b/', limit: 10 })).map((f) => f.path)).toEqual(['b/1', 'b/2', 'b/\u{1F600}']);
    expect((await manifest.page(sessionId, { prefix: 'b/', after: 'b/1', limit: 1 })).map((f) => f.path)).toEqual(['b/2']);
    expect(await manifest.find(sessionId, 'b\u00e9')).toMatchObject({ path: 'b\u00e9', key: 'k/b\u00e9' });
    expect(await manifest.totals(sessionId)).toEqual({ files: names.length, bytes: names.reduce((n, x) => n + x.length, 0) });
    expect(await manifest.deleteSession(sessionId)).toBe(names.length);
    expect(await paths(sessionId)).toEqual([]);
  });
});
