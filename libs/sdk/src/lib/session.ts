import { followExecution, type StreamOptions } from './execution-stream';
import { type HttpClient, type RequestBody, sleep } from './http-client';
import {
  type Context,
  type ContextLanguage,
  type CreateExecutionBody,
  type Execution,
  type ExecutionEvent,
  type ExecutionSummary,
  type FileInfo,
  type FileList,
  isExecutionTerminal,
  type Page,
  type Session,
} from './types';

export interface RunOptions {
  /** One of the template's languages; default: the template's. */
  readonly language?: string;
  readonly stdin?: string;
  /** Wall-time limit, seconds. */
  readonly timeout?: number;
  /** Over the session's env_vars, for this execution only. */
  readonly env?: Record<string, string>;
  readonly args?: string[];
  /** Run as a cell of this interpreter context (`session.contexts.create`). */
  readonly contextId?: string;
  /** Globs of workspace files to return with the result, e.g. ["out/*.png"]. */
  readonly collect?: string[];
  readonly encoding?: CreateExecutionBody['encoding'];
  /** Anything else the API takes (snake_case, as in the OpenAPI document): wins over the above. */
  readonly body?: Partial<CreateExecutionBody>;
  /** The Idempotency-Key to send (default: a fresh UUID per call, the same on its retries). */
  readonly idempotencyKey?: string;
  readonly signal?: AbortSignal;
}

/** Segment by segment, so "out/a b.txt" stays a path and not one escaped name. */
export const encodePath = (path: string) => path.replace(/^\/+/, '').split('/').map(encodeURIComponent).join('/');
const seg = encodeURIComponent;

export function executionBody(code: string, o: RunOptions): CreateExecutionBody {
  const body: Record<string, unknown> = {
    code,
    language: o.language,
    stdin: o.stdin,
    timeout: o.timeout,
    env: o.env,
    args: o.args,
    context_id: o.contextId,
    collect: o.collect,
    encoding: o.encoding,
    ...o.body,
  };
  for (const k of Object.keys(body)) if (body[k] === undefined) delete body[k];
  return body as CreateExecutionBody;
}

/** Executions by id: whichever session they belong to. */
export class Executions {
  constructor(protected readonly http: HttpClient) {}

  get(id: string, opts: { inline?: boolean; signal?: AbortSignal } = {}): Promise<Execution> {
    return this.http.json('GET', `/v1/executions/${seg(id)}`, { query: { inline: opts.inline || undefined }, signal: opts.signal });
  }

  /** Ends it `failed` (reason `cancelled`): at once when pending, once its node stopped it when running. */
  cancel(id: string): Promise<Execution> {
    return this.http.json('POST', `/v1/executions/${seg(id)}/cancel`);
  }

  /** Polls until the execution is terminal (pass `signal` to stop waiting). */
  async wait(id: string, opts: { signal?: AbortSignal; pollMs?: number } = {}): Promise<Execution> {
    for (let delay = opts.pollMs ?? 250; ; delay = Math.min(delay * 2, 2_000)) {
      const e = await this.get(id, { signal: opts.signal });
      if (isExecutionTerminal(e.status)) return e;
      await sleep(delay, opts.signal);
    }
  }

  /** Its events from the start, or after `lastEventId`, until its result (reconnecting as needed). */
  events(id: string, opts: StreamOptions & { lastEventId?: string } = {}): AsyncGenerator<ExecutionEvent> {
    const open = () =>
      this.http.request('GET', `/v1/executions/${seg(id)}/events`, {
        headers: { accept: 'text/event-stream', ...(opts.lastEventId ? { 'last-event-id': opts.lastEventId } : {}) },
        signal: opts.signal,
      });
    return followExecution(this.http, open, { ...opts, executionId: id });
  }

  /** A file the execution created or modified (its `artifacts`), as stored then; 410 once replaced. */
  async artifact(id: string, path: string, opts: { signal?: AbortSignal } = {}): Promise<ReadableStream<Uint8Array>> {
    return bodyOf(await this.http.request('GET', `/v1/executions/${seg(id)}/artifacts/${encodePath(path)}`, { signal: opts.signal }));
  }
}

/** A session's executions: those above, and the list of the session's own. */
export class SessionExecutions extends Executions {
  constructor(
    http: HttpClient,
    private readonly sessionId: string,
  ) {
    super(http);
  }

  /** Newest first, without code and output (get one for those). */
  list(opts: { limit?: number; cursor?: string } = {}): Promise<Page<ExecutionSummary>> {
    return this.http.json('GET', `/v1/sessions/${seg(this.sessionId)}/executions`, { query: opts });
  }
}

/** Persistent interpreters of a session: executions with their `contextId` share variables. */
export class Contexts {
  constructor(
    private readonly http: HttpClient,
    private readonly sessionId: string,
  ) {}

  private get base() {
    return `/v1/sessions/${seg(this.sessionId)}/contexts`;
  }

  create(opts: { language?: ContextLanguage } = {}): Promise<Context> {
    return this.http.json('POST', this.base, { json: opts.language ? { language: opts.language } : {} });
  }

  async list(): Promise<Context[]> {
    return (await this.http.json<{ items: Context[] }>('GET', this.base)).items;
  }

  get(contextId: string): Promise<Context> {
    return this.http.json('GET', `${this.base}/${seg(contextId)}`);
  }

  /** The next cell runs in a fresh interpreter; cells queued or running are cancelled. */
  restart(contextId: string): Promise<Context> {
    return this.http.json('POST', `${this.base}/${seg(contextId)}/restart`);
  }

  async delete(contextId: string): Promise<void> {
    await this.http.json('DELETE', `${this.base}/${seg(contextId)}`);
  }
}

/** The session's workspace (/workspace), stored between executions. */
export class Files {
  constructor(
    private readonly http: HttpClient,
    private readonly sessionId: string,
  ) {}

  private url(path: string) {
    return `/v1/sessions/${seg(this.sessionId)}/files/${encodePath(path)}`;
  }

  /**
   * Stores `body` at `path` (parents made, an existing file replaced); the next execution sees it. A
   * ReadableStream is sent as it is read, never whole in memory, and so is not retried.
   */
  upload(path: string, body: RequestBody, opts: { signal?: AbortSignal } = {}): Promise<FileInfo> {
    return this.http.json('PUT', this.url(path), { body, contentType: 'application/octet-stream', signal: opts.signal });
  }

  /** The file's bytes as they arrive. */
  async download(path: string, opts: { signal?: AbortSignal } = {}): Promise<ReadableStream<Uint8Array>> {
    return bodyOf(await this.http.request('GET', this.url(path), { signal: opts.signal }));
  }

  /** The file as text (UTF-8): for small files. */
  async readText(path: string): Promise<string> {
    return (await this.http.request('GET', this.url(path))).text();
  }

  /** Stored files in path order; `prefix` narrows them ("out/"). */
  list(opts: { prefix?: string; limit?: number; cursor?: string } = {}): Promise<FileList> {
    return this.http.json('GET', `/v1/sessions/${seg(this.sessionId)}/files`, { query: opts });
  }

  async remove(path: string): Promise<void> {
    await this.http.json('DELETE', this.url(path));
  }
}

/**
 * One session: run code in it (`run`, `stream`), its contexts, files and executions. `info` is the
 * session as the API last answered it (`refresh` asks again).
 */
export class SandboxSession {
  readonly executions: SessionExecutions;
  readonly contexts: Contexts;
  readonly files: Files;

  constructor(
    private readonly http: HttpClient,
    public info: Session,
  ) {
    this.executions = new SessionExecutions(http, info.id);
    this.contexts = new Contexts(http, info.id);
    this.files = new Files(http, info.id);
  }

  get id(): string {
    return this.info.id;
  }

  get status(): Session['status'] {
    return this.info.status;
  }

  async refresh(): Promise<Session> {
    return (this.info = await this.http.json('GET', `/v1/sessions/${seg(this.id)}`));
  }

  /**
   * Runs `code` and resolves with the finished execution (stdout, stderr, exit_code, status, …): the
   * API waits as long as it holds a request, then this polls until the execution is terminal.
   */
  async run(code: string, opts: RunOptions = {}): Promise<Execution> {
    const created = await this.http.json<Execution>('POST', `/v1/sessions/${seg(this.id)}/executions`, {
      query: { wait: true },
      json: executionBody(code, opts),
      idempotencyKey: opts.idempotencyKey ?? true,
      signal: opts.signal,
    });
    return isExecutionTerminal(created.status) ? created : this.executions.wait(created.id, { signal: opts.signal });
  }

  /** Starts `code` and answers at once with the execution `pending`. */
  start(code: string, opts: RunOptions = {}): Promise<Execution> {
    return this.http.json('POST', `/v1/sessions/${seg(this.id)}/executions`, { json: executionBody(code, opts), idempotencyKey: opts.idempotencyKey ?? true, signal: opts.signal });
  }

  /**
   * Runs `code` and yields its events as they happen, `result` last:
   * `for await (const ev of session.stream(code)) if (ev.type === 'stdout') write(ev.data.data)`.
   * A dropped connection is resumed with Last-Event-ID; breaking out of the loop closes the stream
   * (the execution goes on: cancel it with `executions.cancel`).
   */
  stream(code: string, opts: RunOptions & StreamOptions = {}): AsyncGenerator<ExecutionEvent> {
    const idempotencyKey = opts.idempotencyKey ?? globalThis.crypto.randomUUID();
    const open = () =>
      this.http.request('POST', `/v1/sessions/${seg(this.id)}/executions`, {
        query: { stream: true },
        json: executionBody(code, opts),
        headers: { accept: 'text/event-stream' },
        idempotencyKey,
        signal: opts.signal,
      });
    return followExecution(this.http, open, opts);
  }

  /** Counts as activity: the idle timeout starts again from now. */
  async keepAlive(): Promise<Session> {
    return (this.info = await this.http.json('POST', `/v1/sessions/${seg(this.id)}/keepalive`));
  }

  /** Sets the idle timeout (seconds), counted from now. */
  async setIdleTimeout(seconds: number): Promise<Session> {
    return (this.info = await this.http.json('PATCH', `/v1/sessions/${seg(this.id)}`, { json: { timeout: seconds } }));
  }

  /** Ends the session (idempotent: a session that ended before answers as it ended). */
  async terminate(): Promise<Session> {
    return (this.info = await this.http.json('DELETE', `/v1/sessions/${seg(this.id)}`));
  }
}

function bodyOf(res: Response): ReadableStream<Uint8Array> {
  // a 200 always has a body; an empty file is an empty stream
  return res.body ?? new ReadableStream({ start: (c) => c.close() });
}
