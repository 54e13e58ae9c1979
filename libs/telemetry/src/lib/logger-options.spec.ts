import { Writable } from 'node:stream';
import pino from 'pino';
import { loggerOptions, redactError } from './logger-options';

const SECRET = 'canary-9f3b7c';

/** Shaped as TypeORM's QueryFailedError over a mysql2 error: the driver error's fields are copied onto it. */
function queryFailed(message: string): Error {
  const driverError = Object.assign(new Error(message), {
    code: 'ER_DUP_ENTRY',
    errno: 1062,
    sqlState: '23000',
    sqlMessage: message,
    sql: `INSERT INTO sessions (env_vars) VALUES ('{"TOKEN":"${SECRET}"}')`,
  });
  return Object.assign(new Error(message), {
    name: 'QueryFailedError',
    query: 'INSERT INTO sessions (env_vars) VALUES (?)',
    parameters: [`{"TOKEN":"${SECRET}"}`],
    driverError,
    code: driverError.code,
    errno: driverError.errno,
    sqlState: driverError.sqlState,
    sqlMessage: driverError.sqlMessage,
    sql: driverError.sql,
  });
}

describe('redactError', () => {
  it('keeps what went wrong and drops the statement and its values, also down the cause chain', () => {
    const e = queryFailed('refused by a trigger');
    const wrapped = new Error('cannot record the result', { cause: e });
    const out = JSON.stringify(redactError(wrapped));
    expect(out).not.toContain(SECRET);
    expect(out).not.toContain('INSERT INTO');
    expect(out).toContain('refused by a trigger');
    const direct = redactError(e) as Record<string, any>;
    expect(direct['code']).toBe('ER_DUP_ENTRY');
    expect(direct['driverError']).toEqual({ code: 'ER_DUP_ENTRY', errno: 1062, sqlState: '23000' });
  });

  it('blanks the values MariaDB quotes in its own messages', () => {
    const out = JSON.stringify(redactError(queryFailed(`Duplicate entry 'ops-${SECRET}' for key 'uq_sessions_idempotency'`)));
    expect(out).not.toContain(SECRET);
    expect(out).toContain("Duplicate entry '[redacted]' for key 'uq_sessions_idempotency'");
    expect(JSON.stringify(redactError(new Error(`Incorrect string value: '\\xF0${SECRET}' for column 'code'`)))).not.toContain(SECRET);
  });

  it('is the serializer of every logger: no value of a failed query in a log line', () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) });
    const log = pino(loggerOptions('test', 'info'), sink);
    log.error({ err: queryFailed('boom'), session_id: 's1' }, 'write failed');
    log.error({ parameters: [SECRET], detail: { sql: SECRET } }, 'stray fields');
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(line).not.toContain(SECRET);
    expect(lines[0]).toContain('"session_id":"s1"');
  });
});
