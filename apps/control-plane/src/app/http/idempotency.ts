import { requestHash } from '@sandbox/domain';
import { type Idempotency } from '@sandbox/persistence';
import { type Response } from 'express';
import { ApiError } from './api-error';

const KEY_PATTERN = /^[\x21-\x7e]{1,128}$/;

/** The header as OpenAPI shows it on the POSTs that take it. */
export const IDEMPOTENCY_HEADER = {
  name: 'Idempotency-Key',
  required: false,
  description: 'a retry with the same key and body returns the first answer (header Idempotent-Replayed: true); with another body 422',
  schema: { type: 'string', pattern: KEY_PATTERN.source },
};


/** The request's Idempotency-Key with the hash of its body, or null without the header; 400 when malformed. */
export function idempotencyOf(header: string | undefined, body: unknown): Idempotency | null {
  if (header === undefined) return null;
  if (!KEY_PATTERN.test(header)) {
    throw new ApiError(400, 'invalid_idempotency_key', 'Idempotency-Key must be 1 to 128 printable ASCII characters without spaces (a UUID will do)', [
      { field: 'Idempotency-Key', message: '1 to 128 printable ASCII characters' },
    ]);
  }
  return { key: header, requestHash: requestHash(body) };
}

/** What a retry gets: the row the key created, unless the key was used for a different request (422). */
export function replay<T>(prior: { requestHash: string | null }, row: T, idem: Idempotency): T {
  if (prior.requestHash !== idem.requestHash) {
    throw new ApiError(422, 'idempotency_key_reused', `Idempotency-Key '${idem.key}' was used for a different request; use a new key for a new request`, [
      { field: 'Idempotency-Key', message: 'already used with another body' },
    ]);
  }
  return row;
}

/** Marks an answer that repeats the one given for the first request with this key. */
export function markReplayed(res: Response, replayed: boolean): void {
  if (replayed) res.setHeader('Idempotent-Replayed', 'true');
}

export function isDuplicateKey(e: unknown): boolean {
  return (e as { code?: string } | null)?.code === 'ER_DUP_ENTRY';
}
