import { apiErrorOf, type SandboxApiError } from './errors';
import { DEFAULT_RETRY_POLICY, isIdempotentMethod, RETRYABLE_STATUSES, retryDelayMs, type RetryPolicy } from './retry';

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export interface HttpClientOptions {
  readonly apiKey: string;
  readonly baseUrl: string;
  readonly fetch?: FetchLike;
  readonly retry?: Partial<RetryPolicy>;
  /** Sent with every request, e.g. a User-Agent where the platform allows setting it. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** What a request may send as its body: JSON (`json`) or bytes as they are (`body`). */
export type RequestBody = ReadableStream<Uint8Array> | Blob | Uint8Array | ArrayBuffer | string;

export interface RequestOptions {
  readonly query?: Readonly<Record<string, string | number | boolean | undefined>>;
  readonly json?: unknown;
  readonly body?: RequestBody;
  readonly contentType?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Sends an Idempotency-Key (the same on every retry of this call): a fresh UUID for `true`. */
  readonly idempotencyKey?: string | true;
  readonly signal?: AbortSignal;
}

/** Thrown for a request that never got an answer (connection refused, reset, DNS). */
export class SandboxConnectionError extends Error {
  override readonly name = 'SandboxConnectionError';
  constructor(
    message: string,
    override readonly cause: unknown,
  ) {
    super(message);
  }
}

/**
 * The one place requests go through: the API key, JSON bodies, errors as `SandboxApiError`, and
 * retries. 429 and 503 are retried for every request (the platform refused before doing anything)
 * after Retry-After; a request that got no answer is retried only when repeating it cannot do the
 * work twice: an idempotent method, or a POST with its Idempotency-Key. A streamed body can be sent
 * once only, so it is never retried.
 */
export class HttpClient {
  readonly baseUrl: string;
  private readonly fetch: FetchLike;
  private readonly policy: RetryPolicy;

  constructor(private readonly options: HttpClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    // bound: a bare reference to window.fetch throws "Illegal invocation" in browsers
    this.fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.policy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
  }

  url(path: string, query?: RequestOptions['query']): string {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) params.set(k, String(v));
    const qs = params.toString();
    return `${this.baseUrl}${path}${qs ? `?${qs}` : ''}`;
  }

  /** The answer (2xx), its body unread; anything else throws. */
  async request(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.options.apiKey}`, ...this.options.headers, ...opts.headers };
    let body: RequestInit['body'];
    if (opts.json !== undefined) {
      body = JSON.stringify(opts.json);
      headers['content-type'] = 'application/json';
    } else if (opts.body !== undefined) {
      body = opts.body as RequestInit['body'];
      headers['content-type'] = opts.contentType ?? 'application/octet-stream';
    }
    if (opts.idempotencyKey) headers['idempotency-key'] = opts.idempotencyKey === true ? globalThis.crypto.randomUUID() : opts.idempotencyKey;
    const streamed = typeof ReadableStream !== 'undefined' && body instanceof ReadableStream;
    const replayable = !streamed;
    const safeAfterNetworkError = replayable && (isIdempotentMethod(method) || headers['idempotency-key'] !== undefined);
    const url = this.url(path, opts.query);
    for (let retry = 0; ; retry++) {
      const canRetry = retry < this.policy.maxRetries;
      let res: Response;
      try {
        const init: RequestInit & { duplex?: 'half' } = { method, headers, body, signal: opts.signal };
        // a ReadableStream body needs half duplex (Node's fetch insists; browsers that stream uploads too)
        if (streamed) init.duplex = 'half';
        res = await this.fetch(url, init);
      } catch (e) {
        if (opts.signal?.aborted) throw e;
        if (!(canRetry && safeAfterNetworkError)) throw new SandboxConnectionError(`${method} ${url} failed: ${describe(e)}`, e);
        await sleep(retryDelayMs(retry, null, this.policy), opts.signal);
        continue;
      }
      if (res.ok) return res;
      if (canRetry && replayable && RETRYABLE_STATUSES.has(res.status)) {
        // the body is read so the connection goes back to the pool
        await res.arrayBuffer().catch(() => undefined);
        await sleep(retryDelayMs(retry, res.headers.get('retry-after'), this.policy), opts.signal);
        continue;
      }
      throw await errorOf(res);
    }
  }

  /** The answer's JSON (undefined for 204). */
  async json<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.request(method, path, { ...opts, headers: { accept: 'application/json', ...opts.headers } });
    if (res.status === 204) return undefined as T;
    return (await res.json()) as T;
  }
}

async function errorOf(res: Response): Promise<SandboxApiError> {
  const text = await res.text().catch(() => '');
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON (a proxy's page, an empty body): the error says the status and the start of the text
  }
  return apiErrorOf(res.status, body, res.headers);
}

function describe(e: unknown): string {
  const cause = (e as { cause?: { code?: string; message?: string } })?.cause;
  const base = e instanceof Error ? e.message : String(e);
  return cause?.code ? `${base} (${cause.code})` : cause?.message ? `${base} (${cause.message})` : base;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const done = () => {
      signal?.removeEventListener('abort', abort);
      resolve();
    };
    const timer = setTimeout(done, ms);
    const abort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', abort, { once: true });
  });
}
