import { createServer, type Server } from 'node:http';
import { freePort, TestPlatform } from '@sandbox/testing';

// the C program of the examples in Judge0's documentation (docs/api/submissions)
const HELLO_C = '#include <stdio.h>\n\nint main(void) {\n  char name[10];\n  scanf("%s", name);\n  printf("hello, %s\\n", name);\n  return 0;\n}';
const NOT_UTF8 = 'some attributes for this submission cannot be converted to UTF-8, use base64_encoded=true query parameter';

/**
 * The Judge0 CE API on /judge0, held to Judge0's documentation: its examples' request bodies, the
 * response fields and status ids it documents.
 */
describe('Judge0-compatible API', () => {
  let p: TestPlatform;
  let key: string;

  beforeAll(async () => {
    p = await TestPlatform.start('e2e-judge0', { warmPool: 'python-basic=1,gcc=1', controlPlaneEnv: { WEBHOOK_ALLOWED_NETWORKS: '127.0.0.0/8' } });
    key = (await p.createKey('tenant', 'judge')).secret;
  });

  afterAll(async () => {
    await p?.stop();
  });

  // as a Judge0 client sends it: its auth token in X-Auth-Token
  const judge0 = (method: string, path: string, body?: unknown) => p.api(method, `/judge0${path}`, body, { authorization: '', 'x-auth-token': key });
  const until = async (token: string, query = '') =>
    p.until(`submission ${token} done`, async () => {
      const r = await judge0('GET', `/submissions/${token}${query}`);
      return r.body.status?.id > 2 || r.status !== 200 ? r : null;
    });

  it("creates the documentation's submissions and refuses its bad ones with Judge0's errors", async () => {
    const created = await judge0('POST', '/submissions', { source_code: HELLO_C, language_id: 4, stdin: 'world' });
    expect(created.status).toBe(201);
    expect(Object.keys(created.body)).toEqual(['token']);
    const done = await until(created.body.token);
    expect(done.body).toEqual({ stdout: 'hello, world\n', time: expect.stringMatching(/^\d+\.\d{3}$/), memory: expect.any(Number), stderr: null, token: created.body.token, compile_output: null, message: null, status: { id: 3, description: 'Accepted' } });

    expect(await judge0('POST', '/submissions', { source_code: HELLO_C })).toMatchObject({ status: 422, body: { language_id: ["can't be blank"] } });
    expect(await judge0('POST', '/submissions', { source_code: HELLO_C, language_id: 150000, stdin: 'world', expected_output: 'hello, world' })).toMatchObject({
      status: 422,
      body: { language_id: ["language with id 150000 doesn't exist"] },
    });
    const limits = await judge0('POST', '/submissions', {
      source_code: HELLO_C,
      language_id: 4,
      number_of_runs: 1,
      stdin: 'Judge0',
      expected_output: 'hello, Judge0',
      cpu_time_limit: 1,
      cpu_extra_time: 0.5,
      wall_time_limit: 100000,
      memory_limit: 128000,
      stack_limit: 128000,
      enable_per_process_and_thread_time_limit: false,
      enable_per_process_and_thread_memory_limit: false,
      max_file_size: 1024,
    });
    expect(limits).toMatchObject({ status: 422, body: { wall_time_limit: [expect.stringMatching(/^must be less than or equal to \d+$/)] } });
    expect(Object.keys(limits.body)).toEqual(['wall_time_limit']);
  });

  it('takes and gives base64 with base64_encoded=true, and waits with wait=true', async () => {
    const created = await judge0('POST', '/submissions?base64_encoded=true', { source_code: Buffer.from(HELLO_C).toString('base64'), language_id: 4, stdin: 'SnVkZ2Uw' });
    expect(created.status).toBe(201);
    const done = await until(created.body.token, '?base64_encoded=true');
    expect(Buffer.from(done.body.stdout, 'base64').toString()).toBe('hello, Judge0\n');

    const waited = await judge0('POST', '/submissions?wait=true', { source_code: HELLO_C, language_id: '4', stdin: 'Judge0', expected_output: 'hello, Judge0' });
    expect(waited.status).toBe(201);
    expect(waited.body).toEqual({ stdout: 'hello, Judge0\n', time: expect.any(String), memory: expect.any(Number), stderr: null, token: expect.any(String), compile_output: null, message: null, status: { id: 3, description: 'Accepted' } });

    // output that is not UTF-8: as text, the token and the error; as base64, the bytes
    const bytes = await judge0('POST', '/submissions?wait=true', { language_id: 71, source_code: 'import sys\nsys.stdout.buffer.write(b"\\xfe")' });
    expect(bytes).toMatchObject({ status: 201, body: { token: expect.any(String), error: NOT_UTF8 } });
    expect(await judge0('GET', `/submissions/${bytes.body.token}`)).toMatchObject({ status: 400, body: { error: NOT_UTF8 } });
    expect((await judge0('GET', `/submissions/${bytes.body.token}?base64_encoded=true`)).body.stdout).toBe('/g==');
  });

  it('answers the fields asked, or all of them with *', async () => {
    const { token } = (await judge0('POST', '/submissions?wait=true', { source_code: 'print(input()[::-1])', language_id: 71, stdin: 'abc', expected_output: 'cba' })).body;
    expect((await judge0('GET', `/submissions/${token}?fields=stdout,stderr,status_id,language_id`)).body).toEqual({ stdout: 'cba\n', stderr: null, status_id: 3, language_id: 71 });
    const all = (await judge0('GET', `/submissions/${token}?fields=*`)).body;
    for (const field of ['source_code', 'language_id', 'stdin', 'expected_output', 'stdout', 'stderr', 'compile_output', 'message', 'exit_code', 'exit_signal', 'status', 'created_at', 'finished_at', 'token', 'time', 'wall_time', 'memory']) {
      expect(all).toHaveProperty(field);
    }
    expect(all).toMatchObject({ source_code: 'print(input()[::-1])', stdin: 'abc', expected_output: 'cba', exit_code: 0, exit_signal: null });
  });

  it("gives each end Judge0's status id", async () => {
    const cases: [number, string, Record<string, unknown>, number, RegExp | null][] = [
      [71, 'print(1)', { expected_output: '2' }, 4, null],
      [71, 'while True: pass', { cpu_time_limit: 1 }, 5, null],
      [50, 'int main(void) { return undefined; }', {}, 6, null],
      [50, 'int main(void) { volatile int *p = 0; return *p; }', {}, 7, /signal 11/],
      [50, '#include <stdlib.h>\nint main(void) { abort(); }', {}, 10, /signal 6/],
      [71, 'import sys\nsys.exit(3)', {}, 11, /status 3/],
      [63, 'console.log(require("os").platform())', { expected_output: 'linux' }, 3, null],
      [54, '#include <iostream>\nint main() { std::cout << 42 << std::endl; }', { expected_output: '42' }, 3, null],
      [46, 'echo "$1-$2"', { command_line_arguments: 'a b', expected_output: 'a-b' }, 3, null],
    ];
    for (const [language_id, source_code, extra, id, message] of cases) {
      const { token } = (await judge0('POST', '/submissions', { source_code, language_id, ...extra })).body;
      const done = (await until(token)).body;
      expect({ source_code, status: done.status.id }).toEqual({ source_code, status: id });
      if (message) expect(done.message).toMatch(message);
      if (id === 6) expect(done.compile_output).toMatch(/error: .undefined. undeclared/);
    }
  });

  it('creates a batch, a program submitted with many inputs run as one execution, and reads it back by tokens', async () => {
    const created = await judge0('POST', '/submissions/batch', {
      submissions: [
        { language_id: 46, source_code: 'echo hello from Bash' },
        { language_id: 71, source_code: 'print("hello from Python")' },
        { language_id: 72, source_code: 'puts("hello from Ruby")' },
      ],
    });
    expect(created.status).toBe(201);
    expect(created.body).toEqual([{ token: expect.any(String) }, { token: expect.any(String) }, { language_id: ["language with id 72 doesn't exist"] }]);
    const tokens = created.body.slice(0, 2).map((t: { token: string }) => t.token);
    await Promise.all(tokens.map((t: string) => until(t)));
    const read = await judge0('GET', `/submissions/batch?tokens=${tokens.join(',')}&fields=token,stdout,status_id`);
    expect(read.body).toEqual({ submissions: [{ token: tokens[0], stdout: 'hello from Bash\n', status_id: 3 }, { token: tokens[1], stdout: 'hello from Python\n', status_id: 3 }] });

    const graded = await judge0('POST', '/submissions/batch', {
      submissions: [1, 2, 3].map((n) => ({ language_id: 50, source_code: '#include <stdio.h>\nint main(void) { int n; scanf("%d", &n); printf("%d\\n", n * n); }', stdin: `${n}`, expected_output: `${n === 3 ? 0 : n * n}` })),
    });
    const ids = graded.body.map((t: { token: string }) => t.token.split('.')[0]);
    expect(new Set(ids).size).toBe(1);
    await Promise.all(graded.body.map((t: { token: string }) => until(t.token)));
    const statuses = (await judge0('GET', `/submissions/batch?tokens=${graded.body.map((t: { token: string }) => t.token).join(',')}&fields=status_id`)).body.submissions;
    expect(statuses).toEqual([{ status_id: 3 }, { status_id: 3 }, { status_id: 4 }]);
  });

  it('lists its statuses and its languages, named with the versions the images run', async () => {
    const statuses = (await judge0('GET', '/statuses')).body;
    expect(statuses.slice(0, 13).map((s: { id: number; description: string }) => `${s.id} ${s.description}`)).toEqual([
      '1 In Queue',
      '2 Processing',
      '3 Accepted',
      '4 Wrong Answer',
      '5 Time Limit Exceeded',
      '6 Compilation Error',
      '7 Runtime Error (SIGSEGV)',
      '8 Runtime Error (SIGXFSZ)',
      '9 Runtime Error (SIGFPE)',
      '10 Runtime Error (SIGABRT)',
      '11 Runtime Error (NZEC)',
      '12 Runtime Error (Other)',
      '13 Internal Error',
    ]);
    const languages = (await judge0('GET', '/languages')).body;
    expect(languages.map((l: { id: number }) => l.id)).toEqual([46, 50, 54, 63, 71]);
    expect(languages.find((l: { id: number }) => l.id === 50).name).toMatch(/^C \(GCC \d+\.\d+\.\d+\)$/);
    expect(languages.find((l: { id: number }) => l.id === 71).name).toMatch(/^Python \(3\.\d+\.\d+\)$/);
    expect((await judge0('GET', '/languages/54')).body).toMatchObject({ id: 54, is_archived: false, source_file: 'main.cpp', compile_cmd: expect.stringContaining('g++') });
    expect((await judge0('GET', '/languages/9999')).status).toBe(404);
  });

  it("PUTs the finished submission to its callback_url, as Judge0 does, and refuses a caller without a key", async () => {
    const port = await freePort();
    const got: { method: string; body: string }[] = [];
    const server: Server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        got.push({ method: req.method ?? '', body: Buffer.concat(chunks).toString() });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    try {
      const { token } = (await judge0('POST', '/submissions', { source_code: 'print("called back")', language_id: 71, callback_url: `http://127.0.0.1:${port}/judge0` })).body;
      await p.until('the callback', async () => (got.length ? true : null));
      expect(got[0]!.method).toBe('PUT');
      expect(JSON.parse(got[0]!.body)).toMatchObject({ token, stdout: 'called back\n', status: { id: 3, description: 'Accepted' } });
    } finally {
      server.close();
    }
    const anonymous = await p.api('GET', '/judge0/statuses', undefined, { authorization: '' });
    expect(anonymous.status).toBe(401);
    expect(Object.keys(anonymous.body)).toEqual(['error']);
  });
});
