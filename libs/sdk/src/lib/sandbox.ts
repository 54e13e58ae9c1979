import { type FetchLike, HttpClient, sleep } from './http-client';
import { type RetryPolicy } from './retry';
import { Executions, SandboxSession } from './session';
import { type ApiKey, type ApiKeyScope, type CreatedApiKey, type CreateSessionBody, type Page, type Runtime, type RuntimeNode, type Session, type SessionStatus, type Template } from './types';

export interface SandboxOptions {
  /** An API key (`sbx_…`), sent as a Bearer token. */
  readonly apiKey: string;
  /** Where the API is, without /v1 (default http://127.0.0.1:8000). */
  readonly baseUrl?: string;
  /** Another fetch: a proxy agent, a test double, a polyfill. */
  readonly fetch?: FetchLike;
  /** Retries of a request refused with 429 or 503, or without an answer where safe (default 3). */
  readonly maxRetries?: number;
  /** The longest wait between two tries, whatever Retry-After says (default 30 000). */
  readonly maxRetryDelayMs?: number;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface CreateSessionOptions {
  /** A template id from `templates.list()`, e.g. "python-basic". */
  readonly template: string;
  readonly envVars?: Record<string, string>;
  /** Idle timeout, seconds. */
  readonly timeout?: number;
  readonly resources?: CreateSessionBody['resources'];
  /** Wait until a node holds the session (`running`; default); false answers at once (`creating`). */
  readonly wait?: boolean;
  /** Longest wait for placement in ms (default 5 minutes); past it `SessionStartError`. */
  readonly waitTimeoutMs?: number;
  /** Called with the session each time it is polled while it waits for a node (progress, position). */
  readonly onPoll?: (session: Session) => void;
  readonly idempotencyKey?: string;
  readonly signal?: AbortSignal;
}

/** A session that did not come to run: it failed (`session.error_code`) or the wait ran out. */
export class SessionStartError extends Error {
  override readonly name = 'SessionStartError';
  constructor(
    message: string,
    readonly session: Session,
  ) {
    super(message);
  }
}

const seg = encodeURIComponent;

export class Sessions {
  constructor(private readonly http: HttpClient) {}

  async create(opts: CreateSessionOptions): Promise<SandboxSession> {
    const body: CreateSessionBody = { template_id: opts.template };
    if (opts.envVars) body.env_vars = opts.envVars;
    if (opts.timeout !== undefined) body.timeout = opts.timeout;
    if (opts.resources) body.resources = opts.resources;
    const created = await this.http.json<Session>('POST', '/v1/sessions', { json: body, idempotencyKey: opts.idempotencyKey ?? true, signal: opts.signal });
    const session = new SandboxSession(this.http, created);
    if (opts.wait === false) return session;
    await this.waitUntilRunning(session, opts);
    return session;
  }

  /** Polls until the session leaves `creating`: resolves when `running`, else throws SessionStartError. */
  async waitUntilRunning(session: SandboxSession, opts: Pick<CreateSessionOptions, 'waitTimeoutMs' | 'onPoll' | 'signal'> = {}): Promise<void> {
    const deadline = Date.now() + (opts.waitTimeoutMs ?? 300_000);
    for (let delay = 100; session.status === 'creating'; delay = Math.min(delay * 2, 1_000)) {
      if (Date.now() > deadline) throw new SessionStartError(`session ${session.id} was not placed within ${opts.waitTimeoutMs ?? 300_000} ms`, session.info);
      await sleep(delay, opts.signal);
      // refreshed first: `onPoll?.(await …)` would skip the refresh itself without a callback
      const now = await session.refresh();
      opts.onPoll?.(now);
    }
    if (session.status !== 'running') {
      const why = session.info.error_code ?? session.info.error ?? 'no reason given';
      throw new SessionStartError(`session ${session.id} is ${session.status}: ${String(why)}`, session.info);
    }
  }

  /** A handle on an existing session (its info fetched). */
  async get(id: string): Promise<SandboxSession> {
    return new SandboxSession(this.http, await this.http.json<Session>('GET', `/v1/sessions/${seg(id)}`));
  }

  /** Newest first: the key's tenant's (an admin key: every tenant's). */
  list(opts: { status?: SessionStatus; limit?: number; cursor?: string } = {}): Promise<Page<Session>> {
    return this.http.json('GET', '/v1/sessions', { query: opts });
  }

  /** Ends session `id`. */
  terminate(id: string): Promise<Session> {
    return this.http.json('DELETE', `/v1/sessions/${seg(id)}`);
  }
}

export class Templates {
  constructor(private readonly http: HttpClient) {}

  async list(): Promise<Template[]> {
    return (await this.http.json<{ items: Template[] }>('GET', '/v1/templates')).items;
  }

  get(id: string): Promise<Template> {
    return this.http.json('GET', `/v1/templates/${seg(id)}`);
  }
}

export class Runtimes {
  constructor(private readonly http: HttpClient) {}

  /** Every language of every template, with its version. */
  async list(): Promise<Runtime[]> {
    return (await this.http.json<{ items: Runtime[] }>('GET', '/v1/runtimes')).items;
  }
}

/** Runtime nodes (admin keys only). */
export class Nodes {
  constructor(private readonly http: HttpClient) {}

  async list(): Promise<RuntimeNode[]> {
    return (await this.http.json<{ items: RuntimeNode[] }>('GET', '/v1/nodes')).items;
  }

  get(id: string): Promise<RuntimeNode> {
    return this.http.json('GET', `/v1/nodes/${seg(id)}`);
  }

  /** No new sessions go there; it finishes its work, moves its sessions away and exits. */
  drain(id: string): Promise<RuntimeNode> {
    return this.http.json('POST', `/v1/nodes/${seg(id)}/drain`);
  }

  undrain(id: string): Promise<RuntimeNode> {
    return this.http.json('POST', `/v1/nodes/${seg(id)}/undrain`);
  }
}

/** API keys (admin keys only). */
export class ApiKeys {
  constructor(private readonly http: HttpClient) {}

  /** The new key with its secret in `key`: shown this once only. */
  create(opts: { tenant: string; scope: ApiKeyScope; name: string; expiresInDays?: number; idempotencyKey?: string }): Promise<CreatedApiKey> {
    const body = { name: opts.name, scope: opts.scope, tenant: opts.tenant, ...(opts.expiresInDays ? { expires_in_days: opts.expiresInDays } : {}) };
    return this.http.json('POST', '/v1/api-keys', { json: body, idempotencyKey: opts.idempotencyKey ?? true });
  }

  async list(opts: { tenant?: string } = {}): Promise<ApiKey[]> {
    return (await this.http.json<{ items: ApiKey[] }>('GET', '/v1/api-keys', { query: opts })).items;
  }

  revoke(id: string): Promise<ApiKey> {
    return this.http.json('DELETE', `/v1/api-keys/${seg(id)}`);
  }
}

/**
 * The client: `new Sandbox({ apiKey, baseUrl })`, then `sessions.create({ template })` and the
 * session's `run`/`stream`. One instance is safe to share.
 */
export class Sandbox {
  readonly http: HttpClient;
  readonly sessions: Sessions;
  readonly executions: Executions;
  readonly templates: Templates;
  readonly runtimes: Runtimes;
  readonly nodes: Nodes;
  readonly keys: ApiKeys;

  constructor(opts: SandboxOptions) {
    if (!opts.apiKey) throw new TypeError('Sandbox: apiKey is required');
    const retry: Partial<RetryPolicy> = {};
    if (opts.maxRetries !== undefined) (retry as { maxRetries: number }).maxRetries = opts.maxRetries;
    if (opts.maxRetryDelayMs !== undefined) (retry as { maxDelayMs: number }).maxDelayMs = opts.maxRetryDelayMs;
    this.http = new HttpClient({ apiKey: opts.apiKey, baseUrl: opts.baseUrl ?? 'http://127.0.0.1:8000', fetch: opts.fetch, retry, headers: opts.headers });
    this.sessions = new Sessions(this.http);
    this.executions = new Executions(this.http);
    this.templates = new Templates(this.http);
    this.runtimes = new Runtimes(this.http);
    this.nodes = new Nodes(this.http);
    this.keys = new ApiKeys(this.http);
  }
}
