/**
 * The TypeScript client of the sandbox platform's REST API, for Node 20+ and browsers: it uses web
 * globals only (fetch, ReadableStream, TextDecoder, AbortSignal, crypto.randomUUID), never a Node module.
 *
 * Two layers, on purpose. `openapi.ts` is generated from the OpenAPI document (`npm run sdk:generate`)
 * and never edited: every request and response type comes from it, so a field the API adds, renames
 * or retypes shows up here at the next generation, and a client that no longer matches stops
 * compiling. The classes in `lib/` are written by hand over those types: a generated client mirrors
 * operations one to one, while callers want `sessions.create()` that waits for placement, `run()` that
 * waits for the result, `stream()` as an async iterator that resumes a dropped connection,
 * idempotency keys and retries they need not think about, and errors they can `instanceof`.
 */
export { Sandbox, Sessions, SessionStartError, Templates, Runtimes, Nodes, ApiKeys, type SandboxOptions, type CreateSessionOptions } from './lib/sandbox';
export { SandboxSession, Executions, SessionExecutions, Contexts, Files, type RunOptions } from './lib/session';
export { type StreamOptions } from './lib/execution-stream';
export {
  SandboxApiError,
  AuthenticationError,
  PermissionDeniedError,
  NotFoundError,
  ConflictError,
  ValidationError,
  RateLimitedError,
  ServiceUnavailableError,
  apiErrorOf,
  parseRetryAfterSeconds,
  type ApiErrorDetail,
} from './lib/errors';
export { HttpClient, SandboxConnectionError, type FetchLike, type RequestBody, type RequestOptions } from './lib/http-client';
export { retryDelayMs, DEFAULT_RETRY_POLICY, type RetryPolicy } from './lib/retry';
export { ServerSentEventParser, readServerSentEvents, type RawServerSentEvent } from './lib/sse';
export * from './lib/types';
export type { paths, components, operations } from './openapi';
