/**
 * Retries `fn` with exponential backoff (capped) until it succeeds or `deadlineMs` passes. Used for
 * writes that must land even across a database restart (an execution must never stay `running`).
 */
export async function retrying<T>(
  fn: () => Promise<T>,
  opts: { deadlineMs: number; firstDelayMs?: number; maxDelayMs?: number; onRetry?: (error: unknown, attempt: number) => void },
): Promise<T> {
  const until = Date.now() + opts.deadlineMs;
  let delay = opts.firstDelayMs ?? 100;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() + delay > until) throw e;
      opts.onRetry?.(e, attempt);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, opts.maxDelayMs ?? 5000);
    }
  }
}
