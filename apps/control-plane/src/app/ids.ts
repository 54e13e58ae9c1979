import { monotonicFactory } from 'ulid';

const ulid = monotonicFactory();

/** Time-ordered ids: pages sort by id, and a session's executions run in id order (I2). */
export function newId(prefix: 'sess' | 'exec' | 'ctx'): string {
  return `${prefix}_${ulid()}`;
}
