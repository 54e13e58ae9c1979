import { createHash, randomBytes } from 'node:crypto';
import { buffer } from 'node:stream/consumers';
import { listAll } from '@sandbox/storage';
import { kubectl, kubernetesAgentEnv, TestPlatform } from '@sandbox/testing';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/**
 * Workspaces whose state of record is the store: artifacts, uploads, restores, limits, hostile paths; on
 * either store, and with sandboxes as pods on the local cluster (the kubernetes runtime).
 */
describe.each([
  ['s3', 'docker'],
  ['fs', 'docker'],
  ['s3', 'kubernetes'],
] as const)('workspaces on the %s store, %s runtime', (storage, runtime) => {
  let p: TestPlatform;
  const namespace = `ws-e2e-${randomBytes(3).toString('hex')}`;

  beforeAll(async () => {
    const agentEnv = runtime === 'kubernetes' ? await kubernetesAgentEnv(namespace) : {};
    p = await TestPlatform.start(`e2e-ws-${storage}-${runtime.slice(0, 3)}`, { storage, warmPool: 'python-basic=2', agentEnv });
    // the first start of the local cluster builds it
  }, 3_300_000);

  afterAll(async () => {
    await p?.stop();
    if (runtime === 'kubernetes') await kubectl('delete', 'namespace', namespace, '--wait=false');
  });

  // each case's sessions end with it: a cluster node holds only as many as its allocatable allows
  afterEach(async () => {
    for (const s of (await p.api('GET', '/v1/sessions?status=running&limit=100')).body.items) await p.api('DELETE', `/v1/sessions/${s.id}`);
  });

  /** The session's files per its manifest; every object under its prefix is one of theirs (nothing left over). */
  const stored = async (sessionId: string) => {
    const files = await p.workspaceFiles(sessionId);
    expect((await listAll(p.storage.store, `sessions/${sessionId}/`)).length).toBe(files.length);
    return files;
  };

  it('lists a written file as an artifact with its size and sha256, and serves it byte for byte, binary included', async () => {
    const s = await p.session();
    expect(s.workspace_path).toBe(p.storage.store.uri(`sessions/${s.id}/`));
    const e = await p.execute(s.id, {
      code: [
        'import os',
        'os.makedirs("out", exist_ok=True)',
        'open("out/report.txt", "w").write("total: 42\\n")',
        'open("out/blob.bin", "wb").write(bytes(range(256)) * 4 + b"\\xff\\xfe\\x00\\x80")',
        'open("out/latin1.txt", "wb").write("café déjà vu".encode("latin-1"))',
      ].join('\n'),
    });
    expect(e.status).toBe('completed');
    const blob = Buffer.concat([Buffer.from(Array.from({ length: 1024 }, (_, i) => i % 256)), Buffer.from([0xff, 0xfe, 0x00, 0x80])]);
    const latin1 = Buffer.from('café déjà vu', 'latin1');
    expect(e.artifacts).toEqual([
      { path: 'out/blob.bin', size: blob.length, mime_type: 'application/octet-stream', sha256: sha256(blob) },
      { path: 'out/latin1.txt', size: latin1.length, mime_type: 'text/plain', sha256: sha256(latin1) },
      { path: 'out/report.txt', size: 10, mime_type: 'text/plain', sha256: sha256(Buffer.from('total: 42\n')) },
    ]);
    expect(e.skipped_artifacts).toBeNull();
    for (const [path, bytes] of [['out/blob.bin', blob], ['out/latin1.txt', latin1]] as const) {
      const viaArtifact = await p.raw('GET', `/v1/executions/${e.id}/artifacts/${path}`);
      expect(viaArtifact.status).toBe(200);
      expect(viaArtifact.bytes.equals(bytes)).toBe(true);
      expect(viaArtifact.headers.get('content-disposition')).toMatch(/^attachment/);
      const viaFiles = await p.raw('GET', `/v1/sessions/${s.id}/files/${path}`);
      expect(viaFiles.bytes.equals(bytes)).toBe(true);
    }
    expect(await stored(s.id)).toEqual(['out/blob.bin', 'out/latin1.txt', 'out/report.txt']);
  });

  it('lists only what the execution created or modified, stores deletions, and answers 410 for a replaced artifact', async () => {
    const s = await p.session();
    const first = await p.execute(s.id, { code: 'open("a.txt", "w").write("one")\nopen("b.txt", "w").write("b")' });
    const second = await p.execute(s.id, { code: 'import os\nopen("a.txt", "w").write("two")\nos.remove("b.txt")\nprint(open("a.txt").read())' });
    expect(second.artifacts.map((a: { path: string }) => a.path)).toEqual(['a.txt']);
    const third = await p.execute(s.id, { code: 'print("nothing written")' });
    expect(third.artifacts).toEqual([]);
    expect(await stored(s.id)).toEqual(['a.txt']);
    const replaced = await p.api('GET', `/v1/executions/${first.id}/artifacts/a.txt`);
    expect(replaced.status).toBe(410);
    expect(replaced.body.error.message).toMatch(new RegExp(`/v1/sessions/${s.id}/files/a.txt`));
    expect((await p.raw('GET', `/v1/executions/${second.id}/artifacts/a.txt`)).bytes.toString()).toBe('two');
    expect((await p.api('GET', `/v1/executions/${second.id}/artifacts/not-an-artifact.txt`)).status).toBe(404);
  });

  it('makes an upload visible to the next execution, and a deletion too', async () => {
    const s = await p.session();
    const csv = 'city,temp\nOslo,3\nLima,19\n';
    const up = await p.api('PUT', `/v1/sessions/${s.id}/files/data/cities.csv`, csv, { 'content-type': 'text/csv' });
    expect(up.status).toBe(201);
    expect(up.body).toMatchObject({ path: 'data/cities.csv', size: csv.length, mime_type: 'text/csv', sha256: sha256(Buffer.from(csv)) });
    const read = await p.execute(s.id, { code: 'import csv\nprint(sum(int(r["temp"]) for r in csv.DictReader(open("data/cities.csv"))))' });
    expect(read.stdout).toBe('22\n');
    // uploaded between two executions of a running session
    await p.api('PUT', `/v1/sessions/${s.id}/files/data/more.txt`, 'more');
    expect((await p.api('DELETE', `/v1/sessions/${s.id}/files/data/cities.csv`)).status).toBe(204);
    const after = await p.execute(s.id, { code: 'import os\nprint(sorted(os.listdir("data")), open("data/more.txt").read())' });
    expect(after.stdout).toBe("['more.txt'] more\n");
    const listed = await p.api('GET', `/v1/sessions/${s.id}/files?prefix=data/`);
    expect(listed.body.items.map((f: { path: string }) => f.path)).toEqual(['data/more.txt']);
    expect((await p.api('DELETE', `/v1/sessions/${s.id}/files/data/cities.csv`)).status).toBe(404);
  });

  it('returns the files matching `collect`, small ones inline', async () => {
    const s = await p.session();
    const r = await p.api('POST', `/v1/sessions/${s.id}/executions?wait=true&inline=true`, {
      code: 'import os\nos.makedirs("out/img", exist_ok=True)\nopen("out/img/a.png", "wb").write(b"\\x89PNG-small")\nopen("out/big.csv", "w").write("x" * 70000)\nopen("notes.md", "w").write("# n")',
      collect: ['out/**', 'notes.md', 'missing.txt'],
    });
    expect(r.status).toBe(200);
    expect(r.body.collect).toEqual(['out/**', 'notes.md', 'missing.txt']);
    expect(r.body.collected.map((c: { path: string }) => c.path)).toEqual(['notes.md', 'out/big.csv', 'out/img/a.png']);
    const byPath = Object.fromEntries(r.body.collected.map((c: { path: string }) => [c.path, c]));
    expect(Buffer.from(byPath['out/img/a.png'].content_base64, 'base64').toString('latin1')).toBe('\x89PNG-small');
    expect(byPath['notes.md'].content_base64).toBe(Buffer.from('# n').toString('base64'));
    expect(byPath['out/big.csv']).not.toHaveProperty('content_base64');
    const again = await p.api('GET', `/v1/executions/${r.body.id}`);
    expect(again.body.collected[0]).not.toHaveProperty('content_base64');
    // collected though unchanged: a later execution's collect sees files of earlier ones
    const later = await p.execute(s.id, { code: 'pass', collect: ['notes.md'] });
    expect(later.collected).toEqual([expect.objectContaining({ path: 'notes.md', size: 3 })]);
  });

  it('restores the workspace into a new container after its container was removed', async () => {
    const s = await p.session();
    await p.execute(s.id, { code: 'import os\nos.makedirs("keep/deep", exist_ok=True)\nopen("keep/deep/state.txt", "w").write("survives")' });
    p.removeSandboxes([s.container_id]);
    const e = await p.execute(s.id, { code: 'print(open("keep/deep/state.txt").read())' });
    expect(e).toMatchObject({ status: 'completed', stdout: 'survives\n' });
    const now = (await p.api('GET', `/v1/sessions/${s.id}`)).body;
    expect(now.container_id).not.toBe(s.container_id);
  });

  it('keeps the workspace in the store when the session is terminated, its container gone, its files still readable', async () => {
    const s = await p.session();
    await p.execute(s.id, { code: 'open("final.txt", "w").write("the last word")' });
    expect((await p.api('DELETE', `/v1/sessions/${s.id}`)).body.status).toBe('terminated');
    await p.until('container removed', async () => !p.containers(`sandbox.node=${p.nodeIds[0]}`).includes(s.container_id));
    expect(await stored(s.id)).toEqual(['final.txt']);
    expect((await p.raw('GET', `/v1/sessions/${s.id}/files/final.txt`)).bytes.toString()).toBe('the last word');
    const refused = await p.api('PUT', `/v1/sessions/${s.id}/files/late.txt`, 'late');
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toMatch(/can be read but no longer changed/);
  });

  it('never stores or serves anything a symlink points at', async () => {
    const s = await p.session();
    const e = await p.execute(s.id, {
      code: [
        'import os',
        'os.symlink("/etc/passwd", "passwd")',
        'os.symlink("/proc/1/environ", "agent-env")',
        'os.symlink("/", "root")',
        'os.symlink("/etc", "etcdir")',
        'open("real.txt", "w").write("mine")',
      ].join('\n'),
    });
    expect(e.artifacts.map((a: { path: string }) => a.path)).toEqual(['real.txt']);
    expect(e.skipped_artifacts.items).toEqual(
      expect.arrayContaining(['passwd', 'agent-env', 'root', 'etcdir'].map((path) => ({ path, size: null, reason: 'symbolic link: not followed, not stored' }))),
    );
    expect(await stored(s.id)).toEqual(['real.txt']);
    for (const path of ['passwd', 'agent-env', 'root/etc/passwd', 'etcdir/passwd']) {
      expect((await p.raw('GET', `/v1/sessions/${s.id}/files/${path}`)).status).toBe(404);
    }
    // an upload under a name that is a symlink in the container is refused there, and the session goes on
    expect((await p.api('PUT', `/v1/sessions/${s.id}/files/etcdir/evil`, 'x')).status).toBe(201);
    const next = await p.execute(s.id, { code: 'import os\nprint(os.path.exists("/etc/evil"), os.readlink("etcdir"))' });
    expect(next).toMatchObject({ status: 'completed', stdout: 'False /etc\n' });
    expect(next.skipped_artifacts.items).toEqual(
      expect.arrayContaining([expect.objectContaining({ path: 'etcdir/evil', reason: expect.stringMatching(/^not restored into the container/) })]),
    );
    for (const o of await listAll(p.storage.store, `sessions/${s.id}/`)) {
      const body = await buffer((await p.storage.store.get(o.key))!.body);
      expect(body.toString()).not.toMatch(/root:x:0:0|DATABASE_URL|REDIS_URL/);
    }
  });

  it.each([
    ['a dot-dot segment', '/files/..%2F..%2Fetc%2Fpasswd'],
    ['encoded dot-dots', '/files/%2e%2e/%2e%2e/etc/passwd'],
    ['a raw dot-dot', '/files/a/../../../etc/passwd'],
    ['backslashes', '/files/..%5C..%5Cetc%5Cpasswd'],
    ['a NUL byte', '/files/a%00.txt'],
    ['an absolute path', '/files//etc/passwd'],
    ['a dot segment', '/files/a/./b'],
    ['a newline', '/files/a%0Ab'],
    ['an over-long path', `/files/${'d/'.repeat(600)}f`],
    ['an over-long name', `/files/${'n'.repeat(300)}`],
  ])('refuses %s with 400 on every file route, and nothing leaves sessions/<id>/', async (_what, suffix) => {
    const s = await p.session();
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const r = await p.raw(method, `/v1/sessions/${s.id}${suffix}`, method === 'PUT' ? Buffer.from('pwned') : undefined);
      // a path that a client or router resolves before us ends up outside /files/: then 404
      expect([400, 404]).toContain(r.status);
      if (r.status === 400) expect(r.body.error.code).toBe('invalid_path');
    }
    const artifact = await p.raw('GET', `/v1/executions/exec_x/artifacts${suffix.slice('/files'.length)}`);
    expect([400, 404]).toContain(artifact.status);
    const everything = await listAll(p.storage.store, '');
    expect(everything.every((o) => /^sessions\/sess_[0-9A-Z]+\/objects\/[^/]+\/[0-9a-f]{64}$/.test(o.key))).toBe(true);
    expect(await p.workspaceFiles(s.id)).toEqual([]);
  });

  it('refuses a listing prefix that escapes', async () => {
    const s = await p.session();
    const r = await p.raw('GET', `/v1/sessions/${s.id}/files?prefix=..%2F`);
    expect(r.status).toBe(400);
    expect(r.body.error.details[0].field).toBe('prefix');
  });

  it('keeps double-encoded dot-dots as a harmless literal name', async () => {
    const s = await p.session();
    const put = await p.raw('PUT', `/v1/sessions/${s.id}/files/%252e%252e`, Buffer.from('literal'));
    expect(put.status).toBe(201);
    expect(put.body.path).toBe('%2e%2e');
    expect(await stored(s.id)).toEqual(['%2e%2e']);
  });
});

describe('workspaces of other templates, and limits', () => {
  let p: TestPlatform;

  beforeAll(async () => {
    p = await TestPlatform.start('e2e-ws-limits', { warmPool: 'python-basic=1' });
    await p.query(
      `INSERT INTO templates (id, name, image, language, default_resources_cpu, default_resources_memory, default_resources_disk, limits)
       VALUES ('python-small', 'Python, small workspace', 'sandbox-python:3.11-basic', 'python', '1', '512Mi', '1Gi',
               JSON_OBJECT('max_files', 2000, 'max_file_bytes', 1048576, 'max_workspace_bytes', 104857600, 'inline_max_bytes', 16)),
              ('python-tiny', 'Python, tiny workspace', 'sandbox-python:3.11-basic', 'python', '1', '512Mi', '1Gi',
               JSON_OBJECT('max_files', 3, 'max_file_bytes', 2000, 'max_workspace_bytes', 3000))`,
    );
  });

  afterAll(async () => {
    await p?.stop();
  });

  it('stores 10,000 small files up to the file limit, skips the rest and a file over the size limit, with reasons, memory flat', async () => {
    const s = await p.session('python-small');
    const node = s.runtime_node;
    const write = (round: number) =>
      p.execute(s.id, {
        code: [
          'import os',
          'for d in range(100):',
          '    os.makedirs(f"many/d{d:03}", exist_ok=True)',
          '    for f in range(100):',
          `        open(f"many/d{d:03}/f{f:03}.txt", "w").write("round ${round} " + str(d * 100 + f))`,
          'open("huge.bin", "wb").write(os.urandom(2 * 1024 * 1024))',
        ].join('\n'),
        timeout: 120,
      });
    const first = await write(1);
    expect(first.status).toBe('completed');
    expect(first.artifacts).toHaveLength(2000);
    expect(first.skipped_artifacts.count).toBe(8001);
    expect(first.skipped_artifacts.items).toHaveLength(100);
    expect(first.skipped_artifacts.items).toContainEqual({ path: 'huge.bin', size: 2 << 20, reason: 'larger than the per-file limit of 1048576 bytes' });
    expect(first.skipped_artifacts.items).toContainEqual(expect.objectContaining({ reason: 'over the workspace limit of 2000 files' }));
    expect((await listAll(p.storage.store, `sessions/${s.id}/`)).length).toBe(2000);
    expect(await p.workspaceFiles(s.id)).toHaveLength(2000);
    const rssAfterFirst = p.agentRss(node);
    for (const round of [2, 3]) expect((await write(round)).artifacts).toHaveLength(2000);
    // every round rewrote the 2000 stored files; the agent held none of them whole
    expect(p.agentRss(node) - rssAfterFirst).toBeLessThan(96 << 20);
  });

  it('refuses an upload over the per-file limit with 413 and takes one at the limit', async () => {
    const s = await p.session('python-small');
    const over = await p.raw('PUT', `/v1/sessions/${s.id}/files/over.bin`, Buffer.alloc((1 << 20) + 1));
    expect(over.status).toBe(413);
    expect(over.body.error.message).toMatch(/limit of this template is 1048576 bytes per file/);
    const at = await p.raw('PUT', `/v1/sessions/${s.id}/files/at.bin`, Buffer.alloc(1 << 20, 1));
    expect(at.status).toBe(201);
    expect(await p.workspaceFiles(s.id)).toEqual(['at.bin']);
    expect(await listAll(p.storage.store, `sessions/${s.id}/`)).toHaveLength(1);
  });

  it('refuses a chunked upload once it passes the limit, leaving nothing stored', async () => {
    const s = await p.session('python-small');
    const body = new ReadableStream({
      start(c) {
        for (let i = 0; i < 20; i++) c.enqueue(new Uint8Array(100 << 10));
        c.close();
      },
    });
    const r = await fetch(`${p.url}/v1/sessions/${s.id}/files/stream.bin`, { method: 'PUT', body, duplex: 'half', headers: p.authorization() } as RequestInit);
    expect(r.status).toBe(413);
    expect(await listAll(p.storage.store, `sessions/${s.id}/`)).toEqual([]);
  });

  it("caps a session's uploads at its workspace's total size (413) and file count (422); a replaced file frees its room", async () => {
    const s = await p.session('python-tiny');
    const put = (path: string, bytes: number) => p.raw('PUT', `/v1/sessions/${s.id}/files/${path}`, Buffer.alloc(bytes, 7));
    expect((await put('a.bin', 1500)).status).toBe(201);
    expect((await put('b.bin', 1500)).status).toBe(201);
    const full = await put('c.bin', 1);
    expect(full.status).toBe(413);
    expect(full.body.error.code).toBe('workspace_full');
    expect(full.body.error.message).toMatch(/has 0 of its 3000 bytes left: delete files first/);
    expect((await put('a.bin', 1000)).status).toBe(201);
    expect((await put('c.bin', 500)).status).toBe(201);
    const many = await put('d.bin', 1);
    expect(many.status).toBe(422);
    expect(many.body.error).toMatchObject({ code: 'too_many_files', details: [{ field: 'path', limit: 3 }] });
    // a chunked body, no length declared: refused once it passes the room left, nothing stored
    expect((await p.api('DELETE', `/v1/sessions/${s.id}/files/c.bin`)).status).toBe(204);
    const body = new ReadableStream({
      start(c) {
        for (let i = 0; i < 4; i++) c.enqueue(new Uint8Array(200));
        c.close();
      },
    });
    const r = await fetch(`${p.url}/v1/sessions/${s.id}/files/stream.bin`, { method: 'PUT', body, duplex: 'half', headers: p.authorization() } as RequestInit);
    expect(r.status).toBe(413);
    expect(await p.workspaceFiles(s.id)).toEqual(['a.bin', 'b.bin']);
    // the refused upload left no object behind: only the two files' own
    expect((await listAll(p.storage.store, `sessions/${s.id}/`)).map((o) => o.size).sort()).toEqual([1000, 1500]);
  });

  it('inlines only files up to the template inline limit', async () => {
    const s = await p.session('python-small');
    const r = await p.api('POST', `/v1/sessions/${s.id}/executions?wait=true&inline=true`, {
      code: 'open("s.txt", "w").write("x" * 16)\nopen("l.txt", "w").write("x" * 17)',
      collect: ['*.txt'],
    });
    expect(r.body.collected.map((c: { path: string; content_base64?: string }) => [c.path, c.content_base64 !== undefined])).toEqual([
      ['l.txt', false],
      ['s.txt', true],
    ]);
  });

  it('plots an uploaded CSV with matplotlib in the datascience template and serves a valid PNG', async () => {
    const s = await p.session('python-datascience');
    const csv = ['month,sales', ...Array.from({ length: 12 }, (_, i) => `${i + 1},${100 + i * i}`)].join('\n');
    expect((await p.api('PUT', `/v1/sessions/${s.id}/files/input/sales.csv`, csv, { 'content-type': 'text/csv' })).status).toBe(201);
    const e = await p.execute(s.id, {
      code: [
        'import os, pandas as pd, matplotlib',
        'matplotlib.use("Agg")',
        'import matplotlib.pyplot as plt',
        'df = pd.read_csv("input/sales.csv")',
        'os.makedirs("out", exist_ok=True)',
        'ax = df.plot(x="month", y="sales", title="Sales")',
        'ax.figure.savefig("out/sales.png", dpi=50)',
        'print(int(df["sales"].sum()))',
      ].join('\n'),
      collect: ['out/*.png'],
      timeout: 120,
    });
    expect(e).toMatchObject({ status: 'completed', stdout: `${12 * 100 + 506}\n` });
    expect(e.collected).toEqual([expect.objectContaining({ path: 'out/sales.png', mime_type: 'image/png' })]);
    const png = (await p.raw('GET', `/v1/executions/${e.id}/artifacts/out/sales.png`)).bytes;
    expect(png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
    expect(png.subarray(12, 16).toString('latin1')).toBe('IHDR');
    // dpi=50 on the default 6.4 x 4.8 inch figure
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([320, 240]);
    expect(png.subarray(-8, -4).toString('latin1')).toBe('IEND');
    expect(png.length).toBe(e.collected[0].size);
  });
});
