import { randomBytes } from 'node:crypto';
import { TestPlatform } from '@sandbox/testing';

/**
 * A write that MariaDB refuses carries its statement and values on the error (TypeORM/mysql2): env var
 * values, code, stdin, stdout. Each process's log gets the failure, never one of those values; the
 * client gets a clean 500 without SQL.
 */
describe('no secret in a log when a database write fails', () => {
  let p: TestPlatform;
  const canary = `canary${randomBytes(6).toString('hex')}`;
  const refusal = 'refused by the redaction test';
  const trigger = (name: string, when: string, table: string, condition = 'TRUE') =>
    p.query(`CREATE TRIGGER ${name} ${when} ON ${table} FOR EACH ROW BEGIN IF ${condition} THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = '${refusal}'; END IF; END`);
  const linesWith = (text: string) => [...p.logs()].flatMap(([file, lines]) => lines.filter((l) => l.includes(text)).map((l) => `${file}: ${l}`));

  beforeAll(async () => {
    p = await TestPlatform.start('e2e-redact', { warmPool: 'python-basic=1' });
    p.startReaper({ REAPER_INTERVAL_MS: '300' });
  });

  afterAll(async () => {
    await p?.stop();
  });

  it('a refused session insert: 500 without SQL, its env var values in no log', async () => {
    await trigger('refuse_sessions', 'BEFORE INSERT', 'sessions');
    const r = await p.api('POST', '/v1/sessions', { template_id: 'python-basic', env_vars: { API_TOKEN: canary } });
    await p.query('DROP TRIGGER refuse_sessions');
    expect(r.status).toBe(500);
    expect(r.body).toEqual({ error: { code: 'internal', message: 'internal error: the request could not be completed', details: [] } });
    expect(JSON.stringify(r.body)).not.toMatch(/INSERT|sessions|45000/);
  });

  it('a refused execution insert: 500, its code and stdin in no log', async () => {
    const session = await p.session('python-basic', { env_vars: { API_TOKEN: canary } });
    await trigger('refuse_executions', 'BEFORE INSERT', 'executions');
    const r = await p.api('POST', `/v1/sessions/${session.id}/executions`, { code: `print("${canary}")`, stdin: canary });
    await p.query('DROP TRIGGER refuse_executions');
    expect(r.status).toBe(500);
    expect(r.body.error.code).toBe('internal');
    expect(JSON.stringify(r.body)).not.toContain(canary);
  });

  it('a refused result write of the agent: retried and logged, the stdout in no log', async () => {
    const session = await p.session();
    // the agent's one terminal UPDATE carries the run's stdout: refused while it holds the canary
    await trigger('refuse_results', 'BEFORE UPDATE', 'executions', `NEW.stdout LIKE '%${canary}%'`);
    const posted = await p.api('POST', `/v1/sessions/${session.id}/executions`, { code: `import sys\nprint(sys.stdin.read())`, stdin: canary });
    expect(posted.status).toBe(202);
    await p.until('the agent retrying its refused result write', async () => linesWith('cannot record the result yet').length > 0);
    await p.query('DROP TRIGGER refuse_results');
    const done = await p.until('execution completed', async () => {
      const e = (await p.api('GET', `/v1/executions/${posted.body.id}`)).body;
      return e.status === 'completed' ? e : null;
    });
    expect(done.stdout).toBe(`${canary}\n`);
  });

  it('every log line of every process: the failures are there, the canary is not', async () => {
    // pino writes each line synchronously: the files hold every line logged so far
    const logs = p.logs();
    const refused = (file: RegExp) => [...logs].filter(([f]) => file.test(f)).flatMap(([, lines]) => lines.filter((l) => l.includes(refusal)));
    // the refused session and execution inserts, and the agent's retried result write
    expect(refused(/-control-plane\.log$/)).toHaveLength(2);
    expect(refused(/-agent-.*\.log$/).length).toBeGreaterThanOrEqual(1);
    expect([...logs.keys()].some((f) => f.endsWith('-reaper-1.log'))).toBe(true);
    expect(linesWith(canary)).toEqual([]);
    expect(linesWith('INSERT INTO')).toEqual([]);
  });
});
