import { randomBytes } from 'node:crypto';
import { buffer } from 'node:stream/consumers';
import { DEFAULT_WORKSPACE_LIMITS, sessionPrefix } from '@sandbox/domain';
import { DockerRuntime, type Sandbox } from '@sandbox/runtime';
import { createTestStore, type TestStore, testSandboxSpec } from '@sandbox/testing';
import { freshWorkspace, type SyncLog, WorkspaceSync, type WorkspaceVersions } from './workspace-sync';

const nodeId = `wsync-${randomBytes(3).toString('hex')}`;
const runtime = new DockerRuntime({ socketPath: '/var/run/docker.sock', executorGraceMs: 3000 });
const quiet: SyncLog = { info() {}, warn() {} };

/** sessions.workspace_version as SessionRepository keeps it (compare and increment; tested on MariaDB in libs/persistence). */
class Versions implements WorkspaceVersions {
  private readonly versions = new Map<string, number>();

  async bumpWorkspace(sessionId: string, from?: number): Promise<boolean> {
    const now = this.of(sessionId);
    if (from !== undefined && from !== now) return false;
    this.versions.set(sessionId, now + 1);
    return true;
  }

  of(sessionId: string): number {
    return this.versions.get(sessionId) ?? 0;
  }
}

/** The engine between a real sandbox and the stack's S3 server. */
describe('WorkspaceSync on Docker and S3', () => {
  const versions = new Versions();
  let t: TestStore;
  let sync: WorkspaceSync;
  const sandboxes: Sandbox[] = [];
  const sandbox = async () => {
    const s = await runtime.create(testSandboxSpec(nodeId));
    sandboxes.push(s);
    return s;
  };
  const newSession = () => ({ id: `sess_${randomBytes(4).toString('hex')}`, workspaceVersion: 0 });
  const current = (s: { id: string }) => ({ id: s.id, workspaceVersion: versions.of(s.id) });

  beforeAll(async () => {
    t = await createTestStore('s3');
    sync = new WorkspaceSync(t.store, versions, quiet);
  });

  afterAll(async () => {
    for (const s of sandboxes) s.detach();
    for (const c of await runtime.list(nodeId)) await runtime.remove(c.containerId);
    await t?.drop();
  });

  it('stores what a run wrote, records the new version, and restores it byte for byte into a fresh container', async () => {
    const session = newSession();
    const writer = await sandbox();
    const state = freshWorkspace();
    expect(await sync.pull(writer, state, session)).toEqual([]);
    const run = await writer.run({
      id: 'w1',
      language: 'python',
      code: 'import os\nos.makedirs("out", exist_ok=True)\nopen("out/a.txt", "w").write("alpha")\nopen("big.bin", "wb").write(bytes(range(256)) * 8192)\nos.symlink("/etc/passwd", "link")',
      timeoutMs: 10_000,
      maxOutputBytes: 4096,
    });
    expect(run.exitCode).toBe(0);
    const pushed = await sync.push(writer, state, session, DEFAULT_WORKSPACE_LIMITS, ['out/**']);
    expect(pushed.artifacts.map((a) => [a.path, a.size])).toEqual([
      ['big.bin', 256 * 8192],
      ['out/a.txt', 5],
    ]);
    expect(pushed.collected?.map((a) => a.path)).toEqual(['out/a.txt']);
    expect(pushed.skipped?.items).toEqual([{ path: 'link', size: null, reason: 'symbolic link: not followed, not stored' }]);
    expect(versions.of(session.id)).toBe(1);
    expect(state.version).toBe(1);
    expect(await buffer((await t.store.get(`${sessionPrefix(session.id)}out/a.txt`))!.body)).toEqual(Buffer.from('alpha'));

    const reader = await sandbox();
    const restored = freshWorkspace();
    expect(await sync.pull(reader, restored, current(session))).toEqual([]);
    const check = await reader.run({
      id: 'r1',
      language: 'python',
      code: 'import hashlib\nprint(open("out/a.txt").read(), hashlib.sha256(open("big.bin", "rb").read()).hexdigest())',
      timeoutMs: 10_000,
      maxOutputBytes: 4096,
    });
    expect(check.stdout.toString()).toBe(`alpha ${pushed.artifacts[0]!.sha256}\n`);
  });

  it('stores only what changed since the last push, and deletes what the run removed', async () => {
    const session = newSession();
    const box = await sandbox();
    const state = freshWorkspace();
    await sync.pull(box, state, session);
    await box.run({ id: 'c1', language: 'python', code: 'open("keep.txt", "w").write("k")\nopen("gone.txt", "w").write("g")', timeoutMs: 10_000, maxOutputBytes: 4096 });
    await sync.push(box, state, session, DEFAULT_WORKSPACE_LIMITS, null);
    await box.run({ id: 'c2', language: 'python', code: 'import os\nos.remove("gone.txt")\nopen("new.txt", "w").write("n")', timeoutMs: 10_000, maxOutputBytes: 4096 });
    const second = await sync.push(box, state, current(session), DEFAULT_WORKSPACE_LIMITS, null);
    expect(second.artifacts.map((a) => a.path)).toEqual(['new.txt']);
    const keys = [];
    for await (const o of t.store.list(sessionPrefix(session.id))) keys.push(o.key.slice(sessionPrefix(session.id).length));
    expect(keys.sort()).toEqual(['keep.txt', 'new.txt']);
    expect(versions.of(session.id)).toBe(2);
  });

  it("leaves the version alone when someone else changed the store meanwhile, so the change is pulled later", async () => {
    const session = newSession();
    const box = await sandbox();
    const state = freshWorkspace();
    await sync.pull(box, state, session);
    // an upload through the API between the pull and the push
    await versions.bumpWorkspace(session.id);
    await box.run({ id: 'v1', language: 'python', code: 'open("mine.txt", "w").write("m")', timeoutMs: 10_000, maxOutputBytes: 4096 });
    await sync.push(box, state, session, DEFAULT_WORKSPACE_LIMITS, null);
    expect(state.version).toBe(0);
    expect(versions.of(session.id)).toBe(1);
    // the next pull brings the other change in
    const again = await sync.pull(box, state, current(session));
    expect(again).toEqual([]);
    expect(state.version).toBe(1);
  });
});
