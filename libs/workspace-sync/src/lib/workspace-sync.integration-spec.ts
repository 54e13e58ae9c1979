import { createHash, randomBytes } from 'node:crypto';
import { buffer } from 'node:stream/consumers';
import { DEFAULT_WORKSPACE_LIMITS, sessionPrefix, workspaceObjectKey } from '@sandbox/domain';
import { DockerRuntime, type Sandbox } from '@sandbox/runtime';
import { listAll } from '@sandbox/storage';
import { createTestManifest, createTestStore, type TestManifest, type TestStore, testSandboxSpec } from '@sandbox/testing';
import { freshWorkspace, type SyncLog, type WorkspaceManifest, WorkspaceSync, WorkspaceSyncAbortedError } from './workspace-sync';

const nodeId = `wsync-${randomBytes(3).toString('hex')}`;
const runtime = new DockerRuntime({ socketPath: '/var/run/docker.sock', executorGraceMs: 3000 });
const quiet: SyncLog = { info() {}, warn() {} };
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** The engine between a real sandbox, the stack's S3 server and the manifest on MariaDB. */
describe('WorkspaceSync on Docker, S3 and MariaDB', () => {
  let t: TestStore;
  let m: TestManifest;
  let sync: WorkspaceSync;
  const sandboxes: Sandbox[] = [];
  const sandbox = async () => {
    const s = await runtime.create(testSandboxSpec(nodeId, { memoryBytes: 1 << 30, diskBytes: 512 << 20, fsizeBytes: 512 << 20 }));
    sandboxes.push(s);
    return s;
  };
  const run = async (box: Sandbox, code: string) => {
    const r = await box.run({ id: randomBytes(4).toString('hex'), language: 'python', code, timeoutMs: 30_000, maxOutputBytes: 1 << 16 });
    expect(r.stderr.toString()).toBe('');
    return r.stdout.toString();
  };
  const paths = async (sessionId: string) => (await m.manifest.page(sessionId, { limit: 1000 })).map((f) => f.path);
  const objects = async (sessionId: string) => (await listAll(t.store, sessionPrefix(sessionId))).map((o) => o.key).sort();
  const listing = 'import os\nprint(sorted(os.path.join(d, f) for d, _, fs in os.walk(".") for f in fs))';

  beforeAll(async () => {
    t = await createTestStore('s3');
    m = await createTestManifest('wsync');
    sync = new WorkspaceSync(t.store, m.manifest, quiet, 120_000);
  });

  afterAll(async () => {
    for (const s of sandboxes) s.detach();
    for (const c of await runtime.list(nodeId)) await runtime.remove(c.containerId);
    await t?.drop();
    await m?.drop();
  });

  it('commits what a run wrote under its attempt, records the new version, and restores it byte for byte into a fresh container', async () => {
    const a = await m.attempt();
    const writer = await sandbox();
    const state = freshWorkspace();
    expect(await sync.pull(writer, state, a.session)).toEqual([]);
    await run(
      writer,
      'import os\nos.makedirs("out", exist_ok=True)\nopen("out/a.txt", "w").write("alpha")\nopen("big.bin", "wb").write(bytes(range(256)) * 8192)\nos.symlink("/etc/passwd", "link")',
    );
    const pushed = await sync.push(writer, state, a.session, DEFAULT_WORKSPACE_LIMITS, ['out/**'], a.fence);
    expect(pushed.artifacts.map((x) => [x.path, x.size])).toEqual([
      ['big.bin', 256 * 8192],
      ['out/a.txt', 5],
    ]);
    expect(pushed.collected?.map((x) => x.path)).toEqual(['out/a.txt']);
    expect(pushed.skipped?.items).toEqual([{ path: 'link', size: null, reason: 'symbolic link: not followed, not stored' }]);
    expect((await m.current(a.session.id)).workspaceVersion).toBe(1);
    expect(state.version).toBe(1);
    const row = (await m.manifest.find(a.session.id, 'out/a.txt'))!;
    expect(row.key).toBe(workspaceObjectKey(a.session.id, `${a.fence.id}.${a.fence.attempt}`, 'out/a.txt'));
    expect(await buffer((await t.store.get(row.key))!.body)).toEqual(Buffer.from('alpha'));

    const reader = await sandbox();
    const restored = freshWorkspace();
    expect(await sync.pull(reader, restored, await m.current(a.session.id))).toEqual([]);
    const check = await run(reader, 'import hashlib\nprint(open("out/a.txt").read(), hashlib.sha256(open("big.bin", "rb").read()).hexdigest())');
    expect(check).toBe(`alpha ${pushed.artifacts[0]!.sha256}\n`);
  });

  it('uploads only what changed since the last push, keeps the unchanged objects, and deletes what the run removed', async () => {
    const first = await m.attempt();
    const box = await sandbox();
    const state = freshWorkspace();
    await sync.pull(box, state, first.session);
    await run(box, 'open("keep.txt", "w").write("k")\nopen("gone.txt", "w").write("g")');
    await sync.push(box, state, first.session, DEFAULT_WORKSPACE_LIMITS, null, first.fence);
    const kept = (await m.manifest.find(first.session.id, 'keep.txt'))!;
    const second = await m.next(first);
    await sync.pull(box, state, second.session);
    await run(box, 'import os\nos.remove("gone.txt")\nopen("new.txt", "w").write("n")');
    const pushed = await sync.push(box, state, second.session, DEFAULT_WORKSPACE_LIMITS, null, second.fence);
    expect(pushed.artifacts.map((x) => x.path)).toEqual(['new.txt']);
    expect(await paths(first.session.id)).toEqual(['keep.txt', 'new.txt']);
    // keep.txt was not uploaded again: the same object, written by the first execution
    expect(await m.manifest.find(first.session.id, 'keep.txt')).toEqual(kept);
    expect(await objects(first.session.id)).toEqual([kept.key, (await m.manifest.find(first.session.id, 'new.txt'))!.key].sort());
    expect((await m.current(first.session.id)).workspaceVersion).toBe(2);
  });

  it('leaves its copy at the old version when an upload changed the workspace meanwhile, so the change is pulled later', async () => {
    const a = await m.attempt();
    const box = await sandbox();
    const state = freshWorkspace();
    await sync.pull(box, state, a.session);
    // an upload through the API between the pull and the push
    const key = workspaceObjectKey(a.session.id, 'up-1', 'theirs.txt');
    const etag = await t.store.put(key, Buffer.from('theirs'));
    await m.manifest.commit({ sessionId: a.session.id, fence: null, writer: 'api', upserts: [{ path: 'theirs.txt', key, size: 6, sha256: sha(Buffer.from('theirs')), etag }], deletes: [] });
    await run(box, 'open("mine.txt", "w").write("m")');
    await sync.push(box, state, a.session, DEFAULT_WORKSPACE_LIMITS, null, a.fence);
    expect(state.version).toBe(0);
    expect((await m.current(a.session.id)).workspaceVersion).toBe(2);
    expect(await sync.pull(box, state, await m.current(a.session.id))).toEqual([]);
    expect(state.version).toBe(2);
    expect(await run(box, listing)).toBe("['./mine.txt', './theirs.txt']\n");
  });

  it("fences out a stale attempt's push after the retry committed: the retry's workspace stays, byte for byte, and the stale objects are gone", async () => {
    const stale = await m.attempt('node-a');
    // the attempt runs on node-a; its agent goes silent, the reaper retries it on node-b
    const boxA = await sandbox();
    const stateA = freshWorkspace();
    await sync.pull(boxA, stateA, stale.session);
    await run(boxA, 'open("shared.txt", "w").write("stale")\nopen("only-stale.txt", "w").write("x" * 100000)');
    const retry = await m.retry(stale, 'node-b');
    const boxB = await sandbox();
    const stateB = freshWorkspace();
    await sync.pull(boxB, stateB, retry.session);
    await run(boxB, 'open("shared.txt", "w").write("retry")\nopen("only-retry.txt", "w").write("r")');
    await sync.push(boxB, stateB, retry.session, DEFAULT_WORKSPACE_LIMITS, null, retry.fence);
    const committed = { paths: await paths(stale.session.id), objects: await objects(stale.session.id), version: (await m.current(stale.session.id)).workspaceVersion };
    // node-a wakes up and finishes its push
    const late = await sync.push(boxA, stateA, stale.session, DEFAULT_WORKSPACE_LIMITS, null, stale.fence);
    expect(late.artifacts).toEqual([]);
    expect(late.skipped?.items[0]?.reason).toMatch(/retried elsewhere/);
    expect(stateA.unknown).toBe(true);
    expect(await paths(stale.session.id)).toEqual(['only-retry.txt', 'shared.txt']);
    expect(await objects(stale.session.id)).toEqual(committed.objects);
    expect(committed.objects.every((k) => k.includes(`/${retry.fence.id}.${retry.fence.attempt}/`))).toBe(true);
    expect((await m.current(stale.session.id)).workspaceVersion).toBe(committed.version);
    // what a fresh container gets is the retry's
    const fresh = await sandbox();
    await sync.pull(fresh, freshWorkspace(), await m.current(stale.session.id));
    expect(await run(fresh, 'print(open("shared.txt").read(), sorted(__import__("os").listdir(".")))')).toBe("retry ['only-retry.txt', 'shared.txt']\n");
  });

  it('stops a push at its bound: nothing committed, no object left', async () => {
    const a = await m.attempt();
    const box = await sandbox();
    const state = freshWorkspace();
    await sync.pull(box, state, a.session);
    await run(box, 'import os\nopen("small.txt", "w").write("s")\nopen("big.bin", "wb").write(os.urandom(64 << 20))');
    const bounded = new WorkspaceSync(t.store, m.manifest, quiet, 100);
    await expect(bounded.push(box, state, a.session, DEFAULT_WORKSPACE_LIMITS, null, a.fence)).rejects.toBeInstanceOf(WorkspaceSyncAbortedError);
    expect(await paths(a.session.id)).toEqual([]);
    expect(await objects(a.session.id)).toEqual([]);
    expect((await m.current(a.session.id)).workspaceVersion).toBe(0);
    // the next push of the same container stores both files
    const next = await m.next(a);
    const pushed = await sync.push(box, state, next.session, DEFAULT_WORKSPACE_LIMITS, null, next.fence);
    expect(pushed.artifacts.map((x) => x.path)).toEqual(['big.bin', 'small.txt']);
  });

  it('stops a push when the attempt is given up (its signal)', async () => {
    const a = await m.attempt();
    const box = await sandbox();
    const state = freshWorkspace();
    await sync.pull(box, state, a.session);
    await run(box, 'import os\nopen("big.bin", "wb").write(os.urandom(100 << 20))');
    const given = new AbortController();
    const pushing = sync.push(box, state, a.session, DEFAULT_WORKSPACE_LIMITS, null, a.fence, given.signal);
    setTimeout(() => given.abort(new Error('node lost')), 300);
    await expect(pushing).rejects.toThrow(/stopped: node lost/);
    expect(await objects(a.session.id)).toEqual([]);
    expect(await paths(a.session.id)).toEqual([]);
  });

  it("never restores objects nobody committed: a crashed writer's upload stays invisible at version 0 and after", async () => {
    const a = await m.attempt();
    // a writer died after storing, before committing (and an object in the old layout)
    await t.store.put(workspaceObjectKey(a.session.id, `${a.fence.id}.${a.fence.attempt}`, 'partial.bin'), randomBytes(1000));
    await t.store.put(`${sessionPrefix(a.session.id)}ghost.txt`, Buffer.from('ghost'));
    const box = await sandbox();
    const state = freshWorkspace();
    expect(await sync.pull(box, state, a.session)).toEqual([]);
    expect(await run(box, listing)).toBe('[]\n');
    const key = workspaceObjectKey(a.session.id, 'up-2', 'real.txt');
    const etag = await t.store.put(key, Buffer.from('real'));
    await m.manifest.commit({ sessionId: a.session.id, fence: null, writer: 'api', upserts: [{ path: 'real.txt', key, size: 4, sha256: sha(Buffer.from('real')), etag }], deletes: [] });
    expect(await sync.pull(box, state, await m.current(a.session.id))).toEqual([]);
    expect(await run(box, listing)).toBe("['./real.txt']\n");
  });

  it('restores from the manifest a page at a time', async () => {
    const a = await m.attempt();
    const box = await sandbox();
    const state = freshWorkspace();
    await sync.pull(box, state, a.session);
    await run(box, 'import os\nos.makedirs("p", exist_ok=True)\nfor i in range(20): open(f"p/{i:02}.txt", "w").write(str(i) * (i + 1))');
    await sync.push(box, state, a.session, DEFAULT_WORKSPACE_LIMITS, null, a.fence);
    const pages: number[] = [];
    const paged: WorkspaceManifest = {
      async *stream(sessionId) {
        for await (const page of m.manifest.stream(sessionId, 7)) {
          pages.push(page.length);
          yield page;
        }
      },
      commit: (c) => m.manifest.commit(c),
    };
    const reader = await sandbox();
    expect(await new WorkspaceSync(t.store, paged, quiet, 60_000).pull(reader, freshWorkspace(), await m.current(a.session.id))).toEqual([]);
    expect(pages).toEqual([7, 7, 6]);
    expect(await run(reader, 'import os\nprint(sum(len(open(f"p/{n}").read()) for n in os.listdir("p")))')).toBe(`${Array.from({ length: 20 }, (_, i) => String(i).length * (i + 1)).reduce((x, y) => x + y)}\n`);
  });
});
