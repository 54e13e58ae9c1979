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
    ];
    for (const [extra, field] of cases) {
      const r = await p.api('POST', `/v1/sessions/${s.id}/executions`, { code: 'print(1)', ...extra });
      expect({ extra, status: r.status, fields: r.body.error.details.map((d: { field: string }) => d.field) }).toEqual({ extra, status: 422, fields: [field] });
    }
  });
});
