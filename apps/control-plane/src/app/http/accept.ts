import { type Idempotency } from '@sandbox/persistence';
import { type PinoLogger } from 'nestjs-pino';
import { ApiError } from './api-error';
import { isDuplicateKey, replay } from './idempotency';

/** The steps of accepting one kind of work (a session, an execution), each the service's own. */
export interface AcceptSteps<T, A> {
  /** The row made earlier with this Idempotency-Key, and the hash of that request's body. */
  prior(key: string): Promise<{ readonly row: T; readonly requestHash: string | null } | null>;
  /** The checks only new work must pass (a replay answers whatever changed since); throws its refusal. */
  admit(): Promise<A>;
  /** Inserts the row within its cap: null when inserted, else the count that reached the cap. */
  insert(admitted: A): Promise<number | null>;
  /** The answer when the cap is reached (429). */
  overCap(count: number): ApiError;
  /**
   * The accepted row as stored: the answer, not whatever an agent made of it since. Null for a caller
   * that answers from its own later read (a wait), whose doorbell then rings right after the insert.
   */
  read: (() => Promise<T>) | null;
  /** Rings the work's doorbell. */
  enqueue(): Promise<void>;
  /** Takes the row back when its doorbell could not ring. */
  rollback(): Promise<void>;
}

/**
 * Every POST that creates work accepts it the same way: a retry with the same Idempotency-Key gets the
 * first answer (422 when its body differs); new work is admitted; the insert respects a cap under a named lock; two requests
 * racing with one key make one row (the unique index refuses the second, which answers with the
 * first's); the row, when the caller wants it now, is read before its doorbell rings; the row is taken
 * back if the doorbell cannot ring, so no row waits without a job (I3). The queue down answers 503
 * with Retry-After.
 */
export async function accept<T, A>(idem: Idempotency | null, steps: AcceptSteps<T, A> & { read: () => Promise<T> }, log: PinoLogger, fields: Readonly<Record<string, string>>): Promise<{ row: T; replayed: boolean }>;
export async function accept<T, A>(idem: Idempotency | null, steps: AcceptSteps<T, A>, log: PinoLogger, fields: Readonly<Record<string, string>>): Promise<{ row: T | null; replayed: boolean }>;
export async function accept<T, A>(
  idem: Idempotency | null,
  steps: AcceptSteps<T, A>,
  log: PinoLogger,
  fields: Readonly<Record<string, string>>,
): Promise<{ row: T | null; replayed: boolean }> {
  const earlier = async (): Promise<T | null> => {
    const prior = idem && (await steps.prior(idem.key));
    return prior && idem ? replay(prior, prior.row, idem) : null;
  };
  const replayed = await earlier();
  if (replayed) return { row: replayed, replayed: true };
  const admitted = await steps.admit();
  let atCap: number | null;
  try {
    atCap = await steps.insert(admitted);
  } catch (e) {
    // the same key raced in from another request: that one made the row
    const raced = isDuplicateKey(e) ? await earlier() : null;
    if (raced) return { row: raced, replayed: true };
    throw e;
  }
  if (atCap !== null) throw steps.overCap(atCap);
  const row = steps.read ? await steps.read() : null;
  try {
    await steps.enqueue();
  } catch (e) {
    await steps.rollback();
    log.error({ ...fields, err: e }, 'cannot enqueue: the request is refused');
    throw ApiError.unavailable('queue_unavailable', 'the work queue is not reachable; retry shortly');
  }
  return { row, replayed: false };
}
