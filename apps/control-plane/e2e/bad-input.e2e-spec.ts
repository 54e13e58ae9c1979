import { TestPlatform } from '@sandbox/testing';

/**
 * Every bad input gets its status and a message that says what to fix, never a 500, and leaves no
 * row behind: the row counts are the same before and after the whole suite.
 */
describe('bad input through the REST API', () => {
  let p: TestPlatform;
  let session: { id: string };
  let counts: { sessions: number; executions: number };

  const rowCounts = async () => {
    const [r] = await p.query('SELECT (SELECT COUNT(*) FROM sessions) AS sessions, (SELECT COUNT(*) FROM executions) AS executions');
    return { sessions: Number(r.sessions), executions: Number(r.executions) };
  };
  const post = (path: string, body: unknown, headers?: Record<string, string>) => p.api('POST', path, body, headers);
  const execute = (body: unknown, query = '') => post(`/v1/sessions/${session.id}/executions${query}`, body);
  const fields = (r: { body: { error: { details: { field?: string }[] } } }) => r.body.error.details.map((d) => d.field).sort();

  beforeAll(async () => {
    p = await TestPlatform.start('e2e-bad', { warmPool: 'python-basic=1' });
    session = await p.session();
    counts = await rowCounts();
  });

  afterAll(async () => {
    if (p) expect(await rowCounts()).toEqual(counts);
    await p?.stop();
  });

  describe('bodies', () => {
    it('answers malformed JSON with 400', async () => {
      const r = await post('/v1/sessions', '{"template_id": "python-basic",');
      expect(r.status).toBe(400);
      expect(r.body.error).toMatchObject({ code: 'malformed_json' });
      expect(r.body.error.message).toMatch(/not valid JSON/);
    });

    it('answers a body that is not JSON with 415', async () => {
      const r = await post('/v1/sessions', 'template_id=python-basic', { 'content-type': 'application/x-www-form-urlencoded' });
      expect(r.status).toBe(415);
      expect(r.body.error.message).toMatch(/application\/json/);
    });

    it('answers a body over the size limit with 413', async () => {
      const r = await execute({ code: 'x'.repeat(5 << 20) });
      expect(r.status).toBe(413);
      expect(r.body.error).toMatchObject({ code: 'payload_too_large' });
    });

    it.each([['[]'], ['"text"'], ['null']])('answers the JSON %s where an object is expected with 400/422', async (raw) => {
      const r = await post('/v1/sessions', raw);
      expect([400, 422]).toContain(r.status);
      expect(r.body.error.code).toMatch(/malformed_json|validation_failed/);
    });
  });

  describe('POST /v1/sessions', () => {
    it('lists every invalid field at once, with 422', async () => {
      const r = await post('/v1/sessions', {
        template_id: 5,
        timeout: 'soon',
        env_vars: { '1BAD': 'x' },
        resources: { cpu: 'lots', memory: '1Ki', disk: '-1' },
        color: 'blue',
      });
      expect(r.status).toBe(422);
      expect(r.body.error.code).toBe('validation_failed');
      expect(fields(r)).toEqual(['color', 'env_vars.1BAD', 'resources.cpu', 'resources.disk', 'resources.memory', 'template_id', 'timeout']);
      expect(r.body.error.message).toMatch(/color: unknown field/);
      expect(r.body.error.message).toMatch(/resources\.memory: '1Ki' is out of range: allowed 32Mi to 64Gi/);
    });

    it('requires template_id', async () => {
      const r = await post('/v1/sessions', {});
      expect(r.status).toBe(422);
      expect(fields(r)).toEqual(['template_id']);
    });

    it('answers an unknown template with 422 naming the available ones', async () => {
      const r = await post('/v1/sessions', { template_id: 'cobol-basic' });
      expect(r.status).toBe(422);
      expect(r.body.error).toMatchObject({ code: 'unknown_template', details: [{ field: 'template_id', message: 'unknown template' }] });
      expect(r.body.error.message).toBe("template 'cobol-basic' does not exist; available: gcc, nodejs-basic, python-basic, python-datascience");
    });

    it.each([
      [{ timeout: 9 }, 'timeout'],
      [{ timeout: 86_401 }, 'timeout'],
      [{ timeout: 30.5 }, 'timeout'],
      [{ env_vars: { A: 'nul\u0000byte' } }, 'env_vars.A'],
      [{ env_vars: { A: 'x'.repeat(8193) } }, 'env_vars.A'],
      [{ env_vars: Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`V${i}`, '1'])) }, 'env_vars'],
      [{ resources: { cpu: '0' } }, 'resources.cpu'],
      [{ resources: { cpu: '17' } }, 'resources.cpu'],
      [{ resources: { memory: '1e9' } }, 'resources.memory'],
      [{ resources: { gpu: '1' } }, 'resources.gpu'],
    ])('refuses %j with 422 naming %s', async (extra, field) => {
      const r = await post('/v1/sessions', { template_id: 'python-basic', ...extra });
      expect(r.status).toBe(422);
      expect(fields(r)).toEqual([field]);
    });

    it.each([
      ['cpu', '2001m', "'2001m' is more than template 'python-basic' allows (allowed: 0.01 to 2)"],
      ['memory', '2049Mi', "'2049Mi' is more than template 'python-basic' allows (allowed: 32Mi to 2Gi)"],
      ['disk', '4097Mi', "'4097Mi' is more than template 'python-basic' allows (allowed: 1Mi to 4Gi)"],
    ])("refuses resources.%s %s, just over the template's maximum, naming the allowed range", async (field, value, message) => {
      const r = await post('/v1/sessions', { template_id: 'python-basic', resources: { [field]: value } });
      expect(r.status).toBe(422);
      expect(r.body.error.details).toEqual([{ field: `resources.${field}`, message }]);
    });

    it("accepts resources of exactly the template's maximums", async () => {
      const r = await post('/v1/sessions', { template_id: 'python-basic', resources: { cpu: '2', memory: '2Gi', disk: '4Gi' } });
      expect(r.status).toBe(201);
      expect((await p.api('DELETE', `/v1/sessions/${r.body.id}`)).status).toBe(200);
      counts.sessions++;
    });

    it('accepts the boundaries: timeout 10 and 86400, 100 env vars, an 8192-byte value', async () => {
      const vars = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`V${i}`, i === 0 ? 'x'.repeat(8192) : '1']));
      for (const body of [{ timeout: 10 }, { timeout: 86_400, env_vars: vars }]) {
        const r = await post('/v1/sessions', { template_id: 'python-basic', ...body });
        expect(r.status).toBe(201);
        expect((await p.api('DELETE', `/v1/sessions/${r.body.id}`)).status).toBe(200);
        counts.sessions++;
      }
    });
  });

  describe('POST /v1/sessions/:id/executions', () => {
    it('answers code over 65 535 bytes with 413, counting bytes not characters', async () => {
      // 32 769 characters, 65 537 bytes in UTF-8
      const r = await execute({ code: `#${'é'.repeat(32_768)}` });
      expect(r.status).toBe(413);
      expect(r.body.error).toMatchObject({ code: 'payload_too_large', details: [{ field: 'code', limit: 65_535, actual: 65_537 }] });
      expect(r.body.error.message).toBe('code is 65537 bytes; the limit is 65535');
    });

    it('accepts code of exactly 65 535 bytes and refuses 65 536', async () => {
      const ok = await execute({ code: `#${'x'.repeat(65_534)}` });
      expect(ok.status).toBe(202);
      counts.executions++;
      const over = await execute({ code: `#${'x'.repeat(65_535)}` });
      expect(over.status).toBe(413);
      expect(over.body.error.message).toBe('code is 65536 bytes; the limit is 65535');
    });

    it('accepts stdin of exactly 1 MiB and a timeout of exactly the template maximum', async () => {
      for (const body of [{ stdin: 'x'.repeat(1 << 20) }, { timeout: 300 }]) {
        const r = await execute({ code: 'print(1)', ...body });
        expect(r.status).toBe(202);
        counts.executions++;
      }
    });

    it('answers stdin over 1 MiB with 413', async () => {
      const r = await execute({ code: 'print(1)', stdin: 'x'.repeat((1 << 20) + 1) });
      expect(r.status).toBe(413);
      expect(r.body.error.details).toEqual([expect.objectContaining({ field: 'stdin', limit: 1 << 20 })]);
    });

    it('lists every invalid field at once', async () => {
      const r = await execute({ code: '', timeout: 0, language: 7, stdin: 1, files: 'a.txt' });
      expect(r.status).toBe(422);
      expect(fields(r)).toEqual(['code', 'files', 'language', 'stdin', 'timeout']);
    });

    it('refuses a timeout above the maximum, naming the allowed range', async () => {
      const r = await execute({ code: 'print(1)', timeout: 301 });
      expect(r.status).toBe(422);
      expect(r.body.error.details).toEqual([{ field: 'timeout', message: "at most 300 seconds in template 'python-basic' (allowed: 1 to 300)" }]);
    });

    it.each([['ruby'], ['javascript']])("refuses language '%s' that the python template lacks, with 422", async (language) => {
      const r = await execute({ code: 'print(1)', language });
      expect(r.status).toBe(422);
      expect(r.body.error).toMatchObject({ code: 'unsupported_language' });
      expect(r.body.error.message).toMatch(/use one of: python, bash/);
    });

    it.each([['?wait=maybe'], ['?wait_ms=-1'], ['?colour=red']])('refuses the query %s with 422', async (query) => {
      const r = await execute({ code: 'print(1)' }, query);
      expect(r.status).toBe(422);
    });

    it('answers 409 on an ended session', async () => {
      const other = await p.session();
      await p.api('DELETE', `/v1/sessions/${other.id}`);
      counts.sessions++;
      const r = await post(`/v1/sessions/${other.id}/executions`, { code: 'print(1)' });
      expect(r.status).toBe(409);
      expect(r.body.error.message).toBe(`session '${other.id}' is terminated: create a new session to run code`);
    });
  });

  describe('unknown ids', () => {
    it.each([
      ['GET', '/v1/sessions/sess_nope'],
      ['DELETE', '/v1/sessions/sess_nope'],
      ['GET', '/v1/sessions/sess_nope/executions'],
      ['GET', '/v1/executions/exec_nope'],
      ['GET', '/v1/templates/nope'],
      ['GET', `/v1/sessions/${'x'.repeat(5000)}`],
      ['GET', '/v1/nothing-here'],
    ])('%s %s → 404', async (method, path) => {
      const r = await p.api(method, path);
      expect(r.status).toBe(404);
      expect(r.body.error.code).toBe('not_found');
    });

    it('answers an execution for an unknown session with 404', async () => {
      const r = await post('/v1/sessions/sess_nope/executions', { code: 'print(1)' });
      expect(r.status).toBe(404);
      expect(r.body.error.message).toBe("session 'sess_nope' does not exist");
    });
  });

  describe('list queries', () => {
    it.each([['?limit=0'], ['?limit=101'], ['?status=sleeping'], ['?cursor=../../etc'], ['?page=2']])('GET /v1/sessions%s → 422', async (query) => {
      const r = await p.api('GET', `/v1/sessions${query}`);
      expect(r.status).toBe(422);
      expect(r.body.error.details.length).toBeGreaterThan(0);
    });
  });
});
