import { parseRetryAfterSeconds } from './errors';

export interface RetryPolicy {
  /** Retries after the first try (so maxRetries + 1 requests at most). */
  readonly maxRetries: number;
  /** First backoff without a Retry-After, doubled each retry (full jitter). */
  readonly baseDelayMs: number;
  /** No wait is longer than this, whatever Retry-After says. */
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxRetries: 3, baseDelayMs: 500, maxDelayMs: 30_000 };

/** Statuses that say "not done, try again later": the rate limit and an overloaded or unready platform. */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 503]);

/**
 * How long to wait before retry number `retry` (0 for the first retry): what Retry-After asks, else
 * exponential backoff with full jitter (`random` in [0, 1)), capped at `maxDelayMs` either way.
 */
export function retryDelayMs(retry: number, retryAfter: string | null, policy: RetryPolicy = DEFAULT_RETRY_POLICY, random: () => number = Math.random, now = Date.now()): number {
  const asked = parseRetryAfterSeconds(retryAfter, now);
  if (asked !== null) return Math.min(Math.ceil(asked * 1000), policy.maxDelayMs);
  const ceiling = Math.min(policy.baseDelayMs * 2 ** retry, policy.maxDelayMs);
  return Math.floor(random() * ceiling);
}

/** Methods that change nothing more when repeated: safe to retry after a network error. */
export function isIdempotentMethod(method: string): boolean {
  return ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE'].includes(method.toUpperCase());
}
