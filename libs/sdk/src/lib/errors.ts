/** One entry of an error's `details`: usually the field at fault and what it must be. */
export interface ApiErrorDetail {
  readonly field?: string;
  readonly message: string;
  readonly [key: string]: unknown;
}

/**
 * An answer of the API outside 2xx, from its body `{"error": {"code", "message", "details"}}`.
 * `code` is stable and machine-readable (`not_found`, `rate_limited`, `validation_failed`, …);
 * `traceparent` finds the request's spans and log lines on the server.
 */
export class SandboxApiError extends Error {
  override readonly name: string = 'SandboxApiError';

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: readonly ApiErrorDetail[] = [],
    readonly traceparent: string | null = null,
    /** Seconds the server asked to wait before trying again (429, 503), when it said. */
    readonly retryAfterSeconds: number | null = null,
  ) {
    super(message);
  }
}

export class AuthenticationError extends SandboxApiError {
  override readonly name = 'AuthenticationError';
}
export class PermissionDeniedError extends SandboxApiError {
  override readonly name = 'PermissionDeniedError';
}
export class NotFoundError extends SandboxApiError {
  override readonly name = 'NotFoundError';
}
export class ConflictError extends SandboxApiError {
  override readonly name = 'ConflictError';
}
export class ValidationError extends SandboxApiError {
  override readonly name = 'ValidationError';
}
export class RateLimitedError extends SandboxApiError {
  override readonly name = 'RateLimitedError';
}
export class ServiceUnavailableError extends SandboxApiError {
  override readonly name = 'ServiceUnavailableError';
}

type ErrorClass = new (...args: ConstructorParameters<typeof SandboxApiError>) => SandboxApiError;
const BY_STATUS: Readonly<Record<number, ErrorClass>> = {
  401: AuthenticationError,
  403: PermissionDeniedError,
  404: NotFoundError,
  409: ConflictError,
  410: NotFoundError,
  422: ValidationError,
  429: RateLimitedError,
  503: ServiceUnavailableError,
};

/**
 * The error for an answer with `status` and its parsed JSON `body` (anything: a proxy's HTML page or
 * an empty body still gives a usable error, with code `http_<status>`).
 */
export function apiErrorOf(status: number, body: unknown, headers?: { get(name: string): string | null }): SandboxApiError {
  const error = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | null)?.error;
  const code = typeof error?.code === 'string' ? error.code : `http_${status}`;
  const message = typeof error?.message === 'string' ? error.message : `the API answered ${status}${typeof body === 'string' && body ? `: ${body.slice(0, 200)}` : ''}`;
  const details = Array.isArray(error?.details) ? (error.details as ApiErrorDetail[]) : [];
  const retryAfter = headers ? parseRetryAfterSeconds(headers.get('retry-after')) : null;
  const Class = BY_STATUS[status] ?? SandboxApiError;
  return new Class(status, code, message, details, headers?.get('traceparent') ?? null, retryAfter);
}

/** Retry-After as seconds: a number of seconds, or an HTTP date from `now`; null when absent or unreadable. */
export function parseRetryAfterSeconds(value: string | null | undefined, now = Date.now()): number | null {
  if (value === null || value === undefined || value.trim() === '') return null;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v);
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, (at - now) / 1000);
}
