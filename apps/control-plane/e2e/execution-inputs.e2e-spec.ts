import { TestPlatform } from '@sandbox/testing';

/** Per-execution inputs through the API to the program: env over the session's, argv, binary stdin and output. */
describe('execution inputs', () => {
  let p: TestPlatform;
  const SECRET = 'exec-secret-5b1d';

  beforeAll(async () => {
    p = await TestPlatform.start('e2e-inputs', { warmPool: 'python-basic=1,nodejs-basic=1' });
  });

  afterAll(async () => {
    await p?.stop();
  });

  it("gives the program its own env over the session's, and never shows or logs the values", async () => {
    const s = await p.session('python-basic', { env_vars: { A: 'session', B: 'session' } });
    const e = await p.execute(s.id, { code: 'import os\nprint(os.environ["A"], os.environ["B"], os.environ["C"])', env: { B: 'exec', C: SECRET } });
    expect(e).toMatchObject({ status: 'completed', stdout: `session exec ${SECRET}\n` });
    // the next execution has the session's environment only
    expect((await p.execute(s.id, { code: 'import os\nprint(os.environ["B"], "C" in os.environ)' })).stdout).toBe('session False\n');
    const shown = JSON.stringify((await p.api('GET', `/v1/executions/${e.id}`)).body).replace(`session exec ${SECRET}`, '');
    expect(shown).not.toContain(SECRET);
    for (const [file, lines] of p.logs()) expect({ file, leaked: lines.some((l) => l.includes(SECRET)) }).toEqual({ file, leaked: false });
  });

  it('passes args as argv in every language', async () => {
    const args = ['a b', '--flag', 'ü', ''];
    const py = await p.session();
    expect(await p.execute(py.id, { code: 'import json, sys\nprint(json.dumps(sys.argv[1:], ensure_ascii=False))', args })).toMatchObject({ status: 'completed', stdout: `${JSON.stringify(args).replace(/,/g, ', ')}\n`, args });
    expect((await p.execute(py.id, { code: 'printf "%s|" "$0" "$@"', language: 'bash', args })).stdout).toBe('bash|a b|--flag|ü||');
    const js = await p.session('nodejs-basic');
    expect((await p.execute(js.id, { code: 'console.log(JSON.stringify(process.argv.slice(2)))', args })).stdout).toBe(`${JSON.stringify(args)}\n`);
    expect((await p.execute(js.id, { code: 'console.log(process.argv.length)' })).stdout).toBe('2\n');
  });

  it('round-trips binary stdin and output exactly with encoding base64', async () => {
    const s = await p.session();
    const input = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const e = await p.execute(s.id, {
      code: 'import sys\ndata = sys.stdin.buffer.read()\nsys.stdout.buffer.write(data[::-1])\nsys.stderr.buffer.write(b"\\xff\\xfe\\x00")',
      stdin: input.toString('base64'),
      encoding: 'base64',
    });
    expect(e).toMatchObject({ status: 'completed', encoding: 'base64', stdin: input.toString('base64') });
    expect(Buffer.from(e.stdout, 'base64')).toEqual(Buffer.from(input).reverse());
    expect(Buffer.from(e.stderr, 'base64')).toEqual(Buffer.from([0xff, 0xfe, 0x00]));
    // the default is text: the same bytes come back with U+FFFD for what is not UTF-8
    const text = await p.execute(s.id, { code: 'import sys\nsys.stdout.buffer.write(b"ok\\xff")' });
    expect(text).toMatchObject({ encoding: 'utf8', stdout: 'ok\ufffd' });
  });

  it('refuses bad inputs with 422 naming the field', async () => {
    const s = await p.session();
    const cases: [Record<string, unknown>, string][] = [
      [{ stdin: 'not base64!', encoding: 'base64' }, 'stdin'],
      [{ args: Array.from({ length: 65 }, () => 'x') }, 'args'],
      [{ args: ['nul\0byte'] }, 'args.0'],
      [{ args: ['x'.repeat(4097)] }, 'args.0'],
      [{ env: { '1BAD': 'x' } }, 'env.1BAD'],
      [{ encoding: 'hex' }, 'encoding'],
      [{ files: [{ path: '../escape.txt', content: 'x' }] }, 'files.0.path'],
      [{ files: [{ path: 'dir/', content: 'x' }] }, 'files.0.path'],
      [{ files: [{ path: 'a', content: '!', encoding: 'base64' }] }, 'files.0.content'],
      [{ files: [{ path: 'a', content: '1' }, { path: 'a', content: '2' }] }, 'files'],
      [{ files: Array.from({ length: 33 }, (_, i) => ({ path: `f${i}`, content: '' })) }, 'files'],
    ];
    for (const [extra, field] of cases) {
      const r = await p.api('POST', `/v1/sessions/${s.id}/executions`, { code: 'print(1)', ...extra });
      expect({ extra, status: r.status, fields: r.body.error.details.map((d: { field: string }) => d.field) }).toEqual({ extra, status: 422, fields: [field] });
    }
  });

  it('writes files into the workspace before the run, parents made, where they stay as the program\'s own', async () => {
    const s = await p.session();
    const bytes = Buffer.from([0, 1, 2, 253, 254, 255]);
    const files = [
      { path: 'data/in.csv', content: 'a,b\n1,2\n' },
      { path: 'bin/blob', content: bytes.toString('base64'), encoding: 'base64' },
    ];
    const code = 'import os\nprint(open("data/in.csv").read(), end="")\nprint(list(open("bin/blob", "rb").read()), os.stat("bin/blob").st_uid)';
    const e = await p.execute(s.id, { code, files });
    expect(e).toMatchObject({ status: 'completed', stdout: `a,b\n1,2\n[0, 1, 2, 253, 254, 255] 1000\n`, files: [{ path: 'data/in.csv', size: 8 }, { path: 'bin/blob', size: 6 }] });
    // an existing file is replaced, and the files stay for the next execution and in the stored workspace
    const again = await p.execute(s.id, { code: 'print(open("data/in.csv").read(), open("bin/blob", "rb").read()[-1])', files: [{ path: 'data/in.csv', content: 'new' }] });
    expect(again.stdout).toBe('new 255\n');
    expect(await p.workspaceFiles(s.id)).toEqual(['bin/blob', 'data/in.csv']);
    // only paths and sizes are listed back, never the contents
    expect((await p.api('GET', `/v1/executions/${e.id}`)).body.files).toEqual([{ path: 'data/in.csv', size: 8 }, { path: 'bin/blob', size: 6 }]);
  });

  it('refuses files over 1 MiB in all (413), and ends an execution whose file cannot be written (input_file)', async () => {
    const s = await p.session();
    const big = await p.api('POST', `/v1/sessions/${s.id}/executions`, { code: 'print(1)', files: [{ path: 'a', content: 'x'.repeat(600_000) }, { path: 'b', content: 'y'.repeat(600_000) }] });
    expect(big).toMatchObject({ status: 413, body: { error: { details: [expect.objectContaining({ field: 'files', limit: 1 << 20 })] } } });
    await p.execute(s.id, { code: 'import os\nos.makedirs("taken")' });
    const e = await p.execute(s.id, { code: 'print("ran")', files: [{ path: 'taken', content: 'x' }] });
    expect(e).toMatchObject({ status: 'failed', reason: 'input_file', stdout: '' });
    expect(e.error).toMatch(/input file 'taken' could not be written/);
  });
});
