import {
  DEFAULT_WORKSPACE_LIMITS,
  type ManifestEntry,
  needsDownload,
  removedFrom,
  workspaceObjectKey,
  attemptWriter,
  planPush,
  type ScannedEntry,
  sessionPrefix,
  WorkspacePathError,
  workspacePath,
} from './workspace';

describe('workspacePath', () => {
  it.each([['a.txt'], ['out/plot.png'], ['deep/er/still/file.tar.gz'], ['.hidden'], ['..dots..'], ['spaces and ünïcode 文件.csv'], ['%2e%2e'], ['a'.repeat(255)]])(
    'accepts %j',
    (p) => {
      expect(workspacePath(p)).toBe(p);
    },
  );

  it.each([
    ['', /empty/],
    ['/etc/passwd', /absolute/],
    ['../secret', /'\.\.' segments/],
    ['a/../../b', /'\.\.' segments/],
    ['a/./b', /'\.' segments/],
    ['.', /'\.' segments/],
    ['a//b', /empty path segments/],
    ['dir/', /empty path segments/],
    ['a\\..\\b', /backslashes/],
    ['nul\u0000byte', /control characters/],
    ['new\nline', /control characters/],
    ['bad\ud800name', /not valid UTF-8/],
    ['a'.repeat(256), /name is longer than 255 bytes/],
    [`${'a/'.repeat(512)}b`, /longer than 1024 bytes/],
  ])('refuses %j', (p, reason) => {
    expect(() => workspacePath(p)).toThrow(WorkspacePathError);
    expect(() => workspacePath(p)).toThrow(reason);
  });

  it('shows control characters escaped in its message', () => {
    expect(() => workspacePath('a\u0000b')).toThrow("invalid workspace path 'a\\x00b'");
  });
});

const file = (path: string, size = 10, token = `t-${path}`): ScannedEntry => ({ path, kind: 'file', size, token });
const known = (size = 10, token = 't'): ManifestEntry => ({ size, token, sha256: 'h', key: 'k', etag: 'e' });
const limits = { ...DEFAULT_WORKSPACE_LIMITS, maxFiles: 3, maxWorkspaceBytes: 100, maxFileBytes: 50 };

describe('planPush', () => {
  it('uploads new and changed files, keeps unchanged ones, removes files gone from the workspace', () => {
    const manifest = new Map([
      ['same.txt', known(10, 't-same.txt')],
      ['changed.txt', known(10, 'old-token')],
      ['gone.txt', known()],
    ]);
    const plan = planPush(manifest, { entries: [file('same.txt'), file('changed.txt'), file('new.txt')], truncated: false }, limits);
    expect(plan.upload.map((e) => e.path)).toEqual(['changed.txt', 'new.txt']);
    expect(plan.kept.map((e) => e.path)).toEqual(['same.txt', 'changed.txt', 'new.txt']);
    expect(plan.remove).toEqual(['gone.txt']);
    expect(plan.skipped).toEqual([]);
  });

  it('uploads a file whose size changed even if its token did not', () => {
    const plan = planPush(new Map([['a', known(5, 't-a')]]), { entries: [file('a', 6)], truncated: false }, limits);
    expect(plan.upload.map((e) => e.path)).toEqual(['a']);
  });

  it('never stores symlinks, special files or unusable names, and says why', () => {
    const entries: ScannedEntry[] = [
      { path: 'link', kind: 'symlink', size: 11, token: 'x' },
      { path: 'fifo', kind: 'other', size: 0, token: 'x' },
      { path: 'bad\\xff', kind: 'name', size: 3, token: 'x' },
      { path: 'dir', kind: 'dir', size: 0, token: 'x' },
      file('ok'),
    ];
    const plan = planPush(new Map([['link', known()]]), { entries, truncated: false }, limits);
    expect(plan.upload.map((e) => e.path)).toEqual(['ok']);
    expect(plan.skipped).toEqual([
      { path: 'link', size: null, reason: 'symbolic link: not followed, not stored' },
      { path: 'fifo', size: null, reason: 'not a regular file' },
      { path: 'bad\\xff', size: 3, reason: 'unsupported file name' },
    ]);
    // a file that became a symlink is no longer stored
    expect(plan.remove).toEqual(['link']);
  });

  it('skips what is over the per-file, count and size limits, in scan order, and drops it from the store', () => {
    const entries = [file('big', 51), file('a', 40), file('b', 40), file('c', 30), file('d', 1), file('e', 1)];
    const plan = planPush(new Map([['big', known(40)]]), { entries, truncated: false }, limits);
    expect(plan.kept.map((e) => e.path)).toEqual(['a', 'b', 'd']);
    expect(plan.skipped).toEqual([
      { path: 'big', size: 51, reason: 'larger than the per-file limit of 50 bytes' },
      { path: 'c', size: 30, reason: 'over the workspace limit of 100 bytes' },
      { path: 'e', size: 1, reason: 'over the workspace limit of 3 files' },
    ]);
    expect(plan.remove).toEqual(['big']);
  });

  it('deletes nothing it did not see when the scan was truncated', () => {
    const manifest = new Map([
      ['seen-gone-symlink', known()],
      ['unseen', known()],
    ]);
    const plan = planPush(manifest, { entries: [{ path: 'seen-gone-symlink', kind: 'symlink', size: 1, token: 'x' }], truncated: true }, limits);
    expect(plan.remove).toEqual(['seen-gone-symlink']);
  });
});

describe('needsDownload and removedFrom', () => {
  it('downloads what the store has that the container lacks or holds another write of, removes what the store dropped', () => {
    const manifest = new Map([
      ['same', { ...known(), key: 'k1' }],
      ['changed', { ...known(), key: 'k2' }],
      ['deleted', known()],
    ]);
    const stored = [
      { path: 'same', size: 10, key: 'k1', etag: 'e', sha256: 'h' },
      { path: 'changed', size: 10, key: 'k2-new', etag: 'e', sha256: 'h' },
      { path: 'added', size: 3, key: 'k3', etag: 'e', sha256: 'h' },
    ];
    expect(stored.filter((f) => needsDownload(manifest, f)).map((f) => f.path)).toEqual(['changed', 'added']);
    expect(removedFrom(manifest, new Set(stored.map((f) => f.path)))).toEqual(['deleted']);
  });
});

describe('workspaceObjectKey', () => {
  it('gives every writer its own key under the session, whatever the path', () => {
    const a = workspaceObjectKey('sess_1', attemptWriter('exec_1', 1), 'dir/a b.txt');
    expect(a).toMatch(/^sessions\/sess_1\/objects\/exec_1\.1\/[0-9a-f]{64}$/);
    expect(workspaceObjectKey('sess_1', attemptWriter('exec_1', 2), 'dir/a b.txt')).not.toBe(a);
    expect(workspaceObjectKey('sess_1', attemptWriter('exec_1', 1), 'dir/a b.txt')).toBe(a);
  });
});

describe('sessionPrefix', () => {
  it('is the seed layout sessions/<id>/', () => {
    expect(sessionPrefix('sess_1')).toBe('sessions/sess_1/');
  });
});
