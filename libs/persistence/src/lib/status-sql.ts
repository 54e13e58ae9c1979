import { LIVE_SESSION_STATUSES, UNFINISHED_EXECUTION_STATUSES } from '@sandbox/domain';

/** A set of the domain's statuses as an SQL list (constants only: the pattern keeps anything else out). */
function sqlList(statuses: readonly string[]): string {
  for (const s of statuses) if (!/^[a-z_]+$/.test(s)) throw new Error(`'${s}' is not a status name`);
  return statuses.map((s) => `'${s}'`).join(', ');
}

/** `status IN (${LIVE_SESSIONS})`: the sessions that hold or wait for a container (domain LIVE_SESSION_STATUSES). */
export const LIVE_SESSIONS = sqlList(LIVE_SESSION_STATUSES);
/** `status IN (${UNFINISHED_EXECUTIONS})`: executions not ended yet, which count as a session's activity. */
export const UNFINISHED_EXECUTIONS = sqlList(UNFINISHED_EXECUTION_STATUSES);
