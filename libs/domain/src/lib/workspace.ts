import { createHash } from 'node:crypto';

/**
 * A session's workspace: the files under /workspace in its container, whose state of record is the
 * session's manifest (table workspace_files: path → object in the store, committed with a version
 * bump, fenced by the writer's attempt). Paths are relative, '/'-separated, and validated here once
 * for every door they come through (the API, the store listing, the container scan).
 */
export const WORKSPACE_PATH = Object.freeze({ maxBytes: 1024, maxSegmentBytes: 255 });

// a name that was not UTF-8 on disk reaches us with lone surrogates (Python's surrogateescape)
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export class WorkspacePathError extends Error {
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`invalid workspace path '${printable(path)}': ${reason}`);
    this.name = 'WorkspacePathError';
  }
}

/**
 * The path as stored, or a WorkspacePathError saying what is wrong with it. Refuses everything that
 * could address something outside the workspace or mean two things: absolute paths, '..' and '.'
 * segments, empty segments, backslashes, NUL and other control characters, lone surrogates (not
 * UTF-8), over-long paths or names.
 */
export function workspacePath(input: string): string {
  const fail = (reason: string): never => {
    throw new WorkspacePathError(input, reason);
  };
  if (input.length === 0) fail('it is empty');
  if (input.startsWith('/')) fail('absolute paths are not allowed; give it relative to the workspace');
  if (input.includes('\\')) fail('backslashes are not allowed; separate directories with "/"');
  if (/[\u0000-\u001f\u007f]/.test(input)) fail('control characters (NUL, newline, ...) are not allowed');
  if (LONE_SURROGATE.test(input)) fail('it is not valid UTF-8');
  if (Buffer.byteLength(input) > WORKSPACE_PATH.maxBytes) fail(`it is longer than ${WORKSPACE_PATH.maxBytes} bytes`);
  for (const segment of input.split('/')) {
    if (segment === '') fail('empty path segments ("//" or a trailing "/") are not allowed');
    if (segment === '.' || segment === '..') fail(`'${segment}' segments are not allowed`);
    if (Buffer.byteLength(segment) > WORKSPACE_PATH.maxSegmentBytes) fail(`a name is longer than ${WORKSPACE_PATH.maxSegmentBytes} bytes`);
  }
  return input;
}

export function isWorkspacePath(input: string): boolean {
  try {
    workspacePath(input);
    return true;
  } catch {
    return false;
  }
}

function printable(s: string): string {
  const shown = s.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return shown.length > 120 ? `${shown.slice(0, 117)}...` : shown;
}

/** What may be kept of a workspace, per template (templates.limits), with these defaults. */
export interface WorkspaceLimits {
  /** Larger files are not stored (listed as skipped). */
  readonly maxFileBytes: number;
  /** Stored files of one session, in all. */
  readonly maxWorkspaceBytes: number;
  readonly maxFiles: number;
  /** Largest file returned inline (base64) by `?inline=true`. */
  readonly inlineMaxBytes: number;
}

export const DEFAULT_WORKSPACE_LIMITS: WorkspaceLimits = Object.freeze({
  maxFileBytes: 256 << 20,
  maxWorkspaceBytes: 1 << 30,
  maxFiles: 10_000,
  inlineMaxBytes: 64 << 10,
});

/** One entry of a container scan, never following symlinks. */
export interface ScannedEntry {
  readonly path: string;
  /** `name`: a name that is not valid UTF-8 or not a valid workspace path. */
  readonly kind: 'file' | 'dir' | 'symlink' | 'other' | 'name';
  readonly size: number;
  /** Changes whenever the file's content or metadata change (mtime, ctime, inode). */
  readonly token: string;
}

/** What the agent knows of a file it synced: in the container (token) and in the store (key, etag). */
export interface ManifestEntry {
  readonly size: number;
  readonly sha256: string;
  /** The object holding these bytes; a new write of the file is always a new key. */
  readonly key: string;
  readonly etag: string;
  readonly token: string;
}

export type Manifest = ReadonlyMap<string, ManifestEntry>;

export interface SkippedFile {
  readonly path: string;
  readonly size: number | null;
  readonly reason: string;
}

export interface PushPlan {
  /** New or changed files to store, in scan order. */
  readonly upload: readonly ScannedEntry[];
  /** Stored files that are gone from the workspace (or no longer kept). */
  readonly remove: readonly string[];
  readonly skipped: readonly SkippedFile[];
  /** Every file kept after the push: unchanged ones plus `upload`. */
  readonly kept: readonly ScannedEntry[];
}

/**
 * What to store after a run, from the container scan and what was stored before. Symlinks are never
 * followed and special files never read: both are skipped. Files over the per-file limit, and those
 * past the file count or total size of the workspace (in scan order), are skipped with the reason
 * and not kept in the store. A truncated scan (more entries than it may return) deletes nothing it
 * did not see.
 */
export function planPush(manifest: Manifest, scan: { entries: readonly ScannedEntry[]; truncated: boolean }, limits: WorkspaceLimits): PushPlan {
  const upload: ScannedEntry[] = [];
  const kept: ScannedEntry[] = [];
  const skipped: SkippedFile[] = [];
  let bytes = 0;
  for (const e of scan.entries) {
    if (e.kind === 'dir') continue;
    if (e.kind === 'symlink') skipped.push({ path: e.path, size: null, reason: 'symbolic link: not followed, not stored' });
    else if (e.kind === 'other') skipped.push({ path: e.path, size: null, reason: 'not a regular file' });
    else if (e.kind === 'name' || !isWorkspacePath(e.path)) skipped.push({ path: e.path, size: e.size, reason: 'unsupported file name' });
    else if (e.size > limits.maxFileBytes) skipped.push({ path: e.path, size: e.size, reason: `larger than the per-file limit of ${limits.maxFileBytes} bytes` });
    else if (kept.length >= limits.maxFiles) skipped.push({ path: e.path, size: e.size, reason: `over the workspace limit of ${limits.maxFiles} files` });
    else if (bytes + e.size > limits.maxWorkspaceBytes) skipped.push({ path: e.path, size: e.size, reason: `over the workspace limit of ${limits.maxWorkspaceBytes} bytes` });
    else {
      kept.push(e);
      bytes += e.size;
      const known = manifest.get(e.path);
      if (!known || known.token !== e.token || known.size !== e.size) upload.push(e);
    }
  }
  const keptPaths = new Set(kept.map((e) => e.path));
  const seen = new Set(scan.entries.map((e) => e.path));
  const remove = [...manifest.keys()].filter((path) => !keptPaths.has(path) && (!scan.truncated || seen.has(path)));
  return { upload, remove, skipped, kept };
}

/** A file of the session's manifest (its committed state). */
export interface StoredFile {
  readonly path: string;
  readonly size: number;
  readonly key: string;
  readonly etag: string;
  readonly sha256: string;
}

/** One file a commit adds or replaces: its object is already in the store. */
export interface WorkspaceUpsert {
  readonly path: string;
  readonly key: string;
  readonly size: number;
  readonly sha256: string;
  readonly etag: string;
}

/** A change of a session's workspace: files written (objects already stored) and paths deleted. */
export interface WorkspaceChange {
  readonly sessionId: string;
  /** The attempt that wrote it (an agent's push), or null for the API (then the session must be live). */
  readonly fence: { readonly id: string; readonly attempt: number; readonly node: string } | null;
  /** `<execution>.<attempt>` or `api`, recorded with every row. */
  readonly writer: string;
  readonly upserts: readonly WorkspaceUpsert[];
  readonly deletes: readonly string[];
}

export type CommitResult =
  | {
      readonly committed: true;
      /** The workspace version before this commit, and the one it made. */
      readonly base: number;
      readonly version: number;
      /** Objects no committed row names any more (replaced or deleted files): to delete from the store. */
      readonly released: string[];
      /** Deleted paths that the manifest did not hold. */
      readonly missing: string[];
    }
  | { readonly committed: false; readonly reason: 'fenced' | 'session_ended' };

/** The container lacks this stored file, or holds another write of it. */
export function needsDownload(manifest: Manifest, f: StoredFile): boolean {
  return manifest.get(f.path)?.key !== f.key;
}

/** Files the container holds that the store no longer has, given every path the store has. */
export function removedFrom(manifest: Manifest, stored: ReadonlySet<string>): string[] {
  return [...manifest.keys()].filter((path) => !stored.has(path));
}

/** Everything a session stores lives under `sessions/<id>/` (seed 000's workspace_path). */
export function sessionPrefix(sessionId: string): string {
  return `sessions/${sessionId}/`;
}

/**
 * The object one writer (an execution's attempt, or one API upload) stores a file at:
 * `sessions/<id>/objects/<writer>/<sha256 of the path>`. No two writers share a key, so a writer that
 * lost its fence can never overwrite what the current one stored; only a committed manifest row makes
 * an object part of the workspace. The path is hashed: any valid path, bounded key length.
 */
export function workspaceObjectKey(sessionId: string, writer: string, path: string): string {
  return `${sessionPrefix(sessionId)}objects/${writer}/${createHash('sha256').update(path).digest('hex')}`;
}

/** The writer name of an execution's attempt in object keys and the manifest. */
export function attemptWriter(executionId: string, attempt: number): string {
  return `${executionId}.${attempt}`;
}
