import { createHash, randomBytes } from 'node:crypto';
import { type Readable, Transform } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { Inject, Injectable } from '@nestjs/common';
import {
  type Artifact,
  type Execution,
  isSessionLive,
  type Principal,
  type Session,
  WorkspacePathError,
  type WorkspaceLimits,
  workspaceLimitsOf,
  workspaceObjectKey,
  workspacePath,
} from '@sandbox/domain';
import { type ManifestFile, SessionRepository, TemplateRepository, WorkspaceFileRepository } from '@sandbox/persistence';
import { mimeTypeOf, type ObjectBody, StoreUnsupportedError, WORKSPACE_STORE, type WorkspaceStore } from '@sandbox/storage';
import { ApiError } from '../http/api-error';
import { SessionsService } from '../sessions/sessions.service';

const PRESIGN_SECONDS = 900;

export interface StoredFileInfo {
  readonly path: string;
  readonly size: number;
  readonly mime_type: string;
  readonly etag: string;
  readonly last_modified: string;
}

export interface Download extends ObjectBody {
  readonly path: string;
  readonly mimeType: string;
}

/**
 * The files of a session's workspace as its manifest holds them (the state of record): uploads are
 * visible to the session's next execution, downloads show what the last execution stored. Every path
 * goes through the one validator of the domain. An upload is stored under a key of its own and then
 * committed to the manifest with the version bump, like an agent's push (without its attempt fence).
 */
@Injectable()
export class FilesService {
  constructor(
    @Inject(WORKSPACE_STORE) private readonly store: WorkspaceStore,
    private readonly sessionsService: SessionsService,
    private readonly sessions: SessionRepository,
    private readonly templates: TemplateRepository,
    private readonly files: WorkspaceFileRepository,
  ) {}

  /**
   * Streams an upload into the store, refusing more than the template's per-file limit or than the
   * room left in the session's workspace (413), and a file past its file count (422): what the agent
   * would not keep after the next run must not be taken in.
   */
  async upload(who: Principal, sessionId: string, rawPath: string, body: Readable, declaredLength: number | null): Promise<StoredFileInfo & { sha256: string }> {
    const path = pathOf(rawPath);
    const session = await this.liveSession(who, sessionId, 'upload files');
    const limits = workspaceLimitsOf((await this.templates.findById(session.templateId)) ?? { limits: {} });
    const room = await this.roomFor(session, path, limits);
    const limit = Math.min(limits.maxFileBytes, room.bytes);
    const tooLarge = (size: number) =>
      limit === limits.maxFileBytes
        ? new ApiError(413, 'payload_too_large', `the file is ${size} bytes or more; the limit of this template is ${limits.maxFileBytes} bytes per file`, [
            { field: 'body', message: `at most ${limits.maxFileBytes} bytes`, limit: limits.maxFileBytes },
          ])
        : new ApiError(
            413,
            'workspace_full',
            `the file is ${size} bytes or more; the workspace of session '${session.id}' has ${room.bytes} of its ${limits.maxWorkspaceBytes} bytes left: delete files first`,
            [{ field: 'body', message: `at most ${room.bytes} bytes`, limit: room.bytes }],
          );
    if (declaredLength !== null && declaredLength > limit) throw tooLarge(declaredLength);
    const hash = createHash('sha256');
    let size = 0;
    const counted = body.pipe(
      new Transform({
        transform(chunk: Buffer, _enc, done) {
          size += chunk.length;
          if (size > limit) return done(tooLarge(size));
          hash.update(chunk);
          done(null, chunk);
        },
      }),
    );
    // a client that breaks off mid-upload must not leave a half object: the store sees the error
    body.on('error', (e) => counted.destroy(e));
    body.on('aborted', () => counted.destroy(new Error('the client broke off the upload')));
    const mimeType = mimeTypeOf(path);
    const key = workspaceObjectKey(session.id, `up-${randomBytes(8).toString('hex')}`, path);
    let etag: string;
    try {
      etag = await this.store.put(key, counted, {
        contentType: mimeType,
        ...(declaredLength !== null ? { size: declaredLength } : {}),
      });
    } catch (e) {
      if (e instanceof ApiError) throw e;
      throw storeUnavailable(e);
    }
    const sha256 = hash.digest('hex');
    const result = await this.files.commit({ sessionId: session.id, fence: null, writer: 'api', upserts: [{ path, key, size, sha256, etag }], deletes: [] }).catch(async (e: unknown) => {
      await this.store.delete([key]).catch(() => undefined);
      throw e;
    });
    if (!result.committed) {
      await this.store.delete([key]).catch(() => undefined);
      throw new ApiError(409, 'session_ended', `session '${session.id}' ended during the upload; its files can be read but no longer changed`);
    }
    await this.store.delete(result.released).catch(() => undefined);
    return { path, size, mime_type: mimeType, etag, sha256, last_modified: new Date().toISOString() };
  }

  async download(who: Principal, sessionId: string, rawPath: string): Promise<Download> {
    const path = pathOf(rawPath);
    const session = await this.storedSession(who, sessionId);
    const file = await this.stored(session, path);
    const object = await this.store.get(file.key).catch((e) => {
      throw storeUnavailable(e);
    });
    // replaced since the manifest was read: the old object went with it
    if (!object) throw new ApiError(409, 'file_changed', `file '${path}' was changed while it was read; try again`);
    return { ...object, etag: file.etag, path, mimeType: object.contentType ?? mimeTypeOf(path) };
  }

  /** A representation of an execution's rich result too large to keep inline, from the store. */
  async result(execution: Execution, index: number, mime: string): Promise<Download> {
    const stored = execution.results?.items[index]?.stored[mime];
    if (!stored) throw new ApiError(404, 'not_found', `execution '${execution.id}' has no stored result ${index} as ${mime}`);
    const object = await this.store.get(stored.key).catch((e) => {
      throw storeUnavailable(e);
    });
    // the session's stored data went with its retention
    if (!object) throw new ApiError(410, 'result_gone', `result ${index} of execution '${execution.id}' is no longer stored`);
    return { ...object, path: `result-${index}`, mimeType: mime };
  }

  /** A URL the client can download the file from without credentials (S3 only). */
  async presign(who: Principal, sessionId: string, rawPath: string): Promise<{ url: string; expires_at: string }> {
    const path = pathOf(rawPath);
    const session = await this.storedSession(who, sessionId);
    const { key } = await this.stored(session, path);
    try {
      const url = await this.store.presignGet(key, PRESIGN_SECONDS);
      return { url, expires_at: new Date(Date.now() + PRESIGN_SECONDS * 1000).toISOString() };
    } catch (e) {
      if (e instanceof StoreUnsupportedError) throw new ApiError(501, 'presign_unsupported', e.message);
      throw storeUnavailable(e);
    }
  }

  /** The stored files under a prefix ('' for all), in path order, a page at a time. */
  async list(who: Principal, sessionId: string, prefix: string, limit: number, cursor?: string): Promise<{ items: StoredFileInfo[]; next_cursor: string | null }> {
    if (prefix) pathOf(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix, 'prefix');
    const session = await this.storedSession(who, sessionId);
    // one page of the manifest, never the whole workspace
    const page = await this.files.page(session.id, { prefix, after: cursor ?? null, limit: limit + 1 });
    const items = page.slice(0, limit).map((f) => ({ path: f.path, size: f.size, mime_type: mimeTypeOf(f.path), etag: f.etag, last_modified: f.updatedAt.toISOString() }));
    return { items, next_cursor: page.length > limit ? items[items.length - 1]!.path : null };
  }

  async remove(who: Principal, sessionId: string, rawPath: string): Promise<void> {
    const path = pathOf(rawPath);
    const session = await this.liveSession(who, sessionId, 'delete files');
    const result = await this.files.commit({ sessionId: session.id, fence: null, writer: 'api', upserts: [], deletes: [path] });
    if (!result.committed) throw new ApiError(409, 'session_ended', `session '${session.id}' ended: its files can be read but no longer changed`);
    if (result.missing.length) throw new ApiError(404, 'not_found', `file '${path}' does not exist in session '${session.id}'`);
    await this.store.delete(result.released).catch(() => undefined);
  }

  /**
   * An artifact of an execution, as that execution stored it: when a later execution or an upload
   * replaced the file since, the artifact is gone (410) and the current file is at the files API.
   */
  async artifact(who: Principal, execution: Execution, rawPath: string): Promise<Download> {
    const path = pathOf(rawPath);
    const artifact = [...(execution.artifacts ?? []), ...(execution.collected ?? [])].find((a) => a.path === path);
    if (!artifact) throw new ApiError(404, 'not_found', `execution '${execution.id}' has no artifact '${path}'`);
    const current = await this.download(who, execution.sessionId, path).catch((e) => {
      if (e instanceof ApiError && e.getStatus() === 404) return null;
      throw e;
    });
    if (!current || (artifact.etag && current.etag !== artifact.etag)) {
      current?.body.destroy();
      throw new ApiError(410, 'artifact_replaced', `'${path}' was changed or deleted after execution '${execution.id}'; the current file (if any) is at /v1/sessions/${execution.sessionId}/files/${path}`);
    }
    return current;
  }

  /** Small collected files with their content (base64), for `?inline=true`, when still as collected. */
  async inline(execution: Execution): Promise<Map<string, string>> {
    const session = await this.sessions.findById(execution.sessionId);
    const template = session && (await this.templates.findById(session.templateId));
    const { inlineMaxBytes } = workspaceLimitsOf(template ?? { limits: {} });
    const contents = new Map<string, string>();
    for (const a of (execution.collected ?? []).filter((c: Artifact) => c.size <= inlineMaxBytes)) {
      const file = await this.files.find(execution.sessionId, a.path);
      if (!file || (a.etag && file.etag !== a.etag)) continue;
      const object = await this.store.get(file.key).catch(() => null);
      if (object) contents.set(a.path, (await buffer(object.body)).toString('base64'));
    }
    return contents;
  }

  /**
   * What the workspace can still take besides `path` (a file replaced frees its own room), from the
   * manifest. Checked before the body is read; two uploads racing may each see the room of one (the
   * agent's push keeps the workspace within the limits whatever happens).
   */
  private async roomFor(session: Session, path: string, limits: WorkspaceLimits): Promise<{ bytes: number }> {
    const [totals, replaced] = await Promise.all([this.files.totals(session.id), this.files.find(session.id, path)]);
    const files = totals.files - (replaced ? 1 : 0);
    const bytes = totals.bytes - (replaced?.size ?? 0);
    if (files >= limits.maxFiles) {
      throw new ApiError(422, 'too_many_files', `the workspace of session '${session.id}' holds ${files} files, the limit of its template: delete files first`, [
        { field: 'path', message: `at most ${limits.maxFiles} files per workspace`, limit: limits.maxFiles },
      ]);
    }
    return { bytes: Math.max(0, limits.maxWorkspaceBytes - bytes) };
  }

  private async liveSession(who: Principal, id: string, what: string): Promise<Session> {
    const session = await this.sessionsService.get(id, who);
    if (!isSessionLive(session.status)) {
      throw new ApiError(409, 'session_ended', `session '${id}' is ${session.status}: its files can be read but no longer changed; cannot ${what}`);
    }
    return session;
  }

  /** The manifest's entry of the path, or 404. */
  private async stored(session: Session, path: string): Promise<ManifestFile> {
    const file = await this.files.find(session.id, path);
    if (!file) throw new ApiError(404, 'not_found', `file '${path}' does not exist in session '${session.id}'`);
    return file;
  }

  private async storedSession(who: Principal, id: string): Promise<Session> {
    const session = await this.sessionsService.get(id, who);
    if (!session.workspacePath) throw new ApiError(410, 'workspace_deleted', `the workspace of session '${id}' was deleted after its retention period`);
    return session;
  }
}

function pathOf(raw: string, field = 'path'): string {
  try {
    return workspacePath(raw);
  } catch (e) {
    if (e instanceof WorkspacePathError) throw new ApiError(400, 'invalid_path', e.message, [{ field, message: e.message }]);
    throw e;
  }
}

function storeUnavailable(e: unknown): ApiError {
  return ApiError.unavailable('storage_unavailable', `the workspace store is not reachable: ${(e as Error).message}; retry shortly`);
}
