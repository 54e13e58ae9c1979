import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, TestPlatform } from '@sandbox/testing';

const MAIN = join(REPO_ROOT, 'dist/apps/cli/src/main.js');

interface Ran {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** What came out, piece by piece, with when (ms since the start). */
  readonly chunks: { at: number; text: string }[];
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Runs the built CLI. With `tty`, inside a pseudo-terminal (util-linux `script`: stdout and stderr
 * both the terminal, merged into one output, "\n" as "\r\n"), as a user at a terminal runs it.
 */
function cli(args: string[], env: Record<string, string | undefined>, opts: { tty?: boolean; input?: string } = {}): Promise<Ran> {
  const child = opts.tty
    ? spawn('script', ['-qfec', ['node', MAIN, ...args].map(quote).join(' '), '/dev/null'], { env: { ...process.env, ...env } })
    : spawn(process.execPath, [MAIN, ...args], { env: { ...process.env, ...env } });
  const t0 = Date.now();
  const chunks: { at: number; text: string }[] = [];
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (t: string) => {
    stdout += t;
    chunks.push({ at: Date.now() - t0, text: t });
  });
  child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
  child.stdin.end(opts.input ?? '');
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, chunks }));
  });
}

/** The `sandbox` command line against the real platform: exit codes, streamed output, --json. */
describe('sandbox CLI', () => {
  let p: TestPlatform;
  let env: Record<string, string>;
  let adminEnv: Record<string, string>;
  let dir: string;

  beforeAll(async () => {
    p = await TestPlatform.start('e2e-cli', { warmPool: 'python-basic=1' });
    dir = mkdtempSync(join(tmpdir(), 'sandbox-cli-'));
    // no config file of whoever runs the tests
    const base = { SANDBOX_URL: p.url, SANDBOX_CONFIG: join(dir, 'no-config.json') };
    env = { ...base, SANDBOX_API_KEY: (await p.createKey('tenant', 'cli')).secret };
    adminEnv = { ...base, SANDBOX_API_KEY: p.adminKey };
  });

  afterAll(async () => {
    await p?.stop();
  });

  it('runs a file in a terminal: a spinner while the session is placed, output as it happens, the exit code', async () => {
    const file = join(dir, 'slow.py');
    writeFileSync(file, 'import sys, time\nprint("first", flush=True)\nprint("oops", file=sys.stderr, flush=True)\ntime.sleep(1.5)\nprint("second", flush=True)\nsys.exit(5)\n');
    const r = await cli(['run', file], env, { tty: true });
    expect(r.code).toBe(5);
    const out = r.stdout;
    expect(out).toMatch(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] (creating a session of python-basic|placing the session on a node)…/);
    // the spinner line is erased before the program's output starts
    expect(out.indexOf('\x1b[K')).toBeLessThan(out.indexOf('first'));
    expect(out.indexOf('first\r\n')).toBeLessThan(out.indexOf('oops\r\n'));
    expect(out.indexOf('oops\r\n')).toBeLessThan(out.indexOf('second\r\n'));
    // streamed: "first" reached the terminal well before "second" was printed
    const at = (text: string) => r.chunks.find((_, i) => r.chunks.slice(0, i + 1).map((c) => c.text).join('').includes(text))!.at;
    expect(at('second') - at('first')).toBeGreaterThan(1_000);
    // the session made for the run is over
    const sessions = (await p.api('GET', '/v1/sessions?limit=5')).body.items;
    expect(sessions.filter((s: any) => s.status === 'running')).toEqual([]);
  });

  it('without a terminal: no spinner, stdout and stderr apart, stdin from a file', async () => {
    const file = join(dir, 'echo.py');
    writeFileSync(file, 'import sys\ndata = sys.stdin.read()\nprint(data.upper())\nprint("to stderr", file=sys.stderr)\nsys.exit(3)\n');
    writeFileSync(join(dir, 'input.txt'), 'hello cli');
    const r = await cli(['run', file, '--stdin', `@${join(dir, 'input.txt')}`, '--timeout', '20'], env);
    expect(r).toMatchObject({ code: 3, stdout: 'HELLO CLI\n', stderr: 'to stderr\n' });
    const viaStdin = await cli(['run', '-', '--language', 'python'], env, { input: 'print(6 * 7)\n' });
    expect(viaStdin).toMatchObject({ code: 0, stdout: '42\n', stderr: '' });
  });

  it('says why an execution did not complete, and exits 124 on its timeout', async () => {
    const file = join(dir, 'forever.py');
    writeFileSync(file, 'import time\nprint("started", flush=True)\ntime.sleep(60)\n');
    const r = await cli(['run', file, '--timeout', '1'], env);
    expect(r.code).toBe(124);
    expect(r.stdout).toBe('started\n');
    expect(r.stderr).toMatch(/^sandbox: execution exec_\w+ timeout/);
  });

  it('gives machine output with --json', async () => {
    const file = join(dir, 'json.py');
    writeFileSync(file, 'print("machine")\n');
    const run = await cli(['--json', 'run', file], env);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ status: 'completed', exit_code: 0, stdout: 'machine\n' });
    const ls = await cli(['sessions', 'ls', '--json', '--limit', '2'], env);
    expect(ls.code).toBe(0);
    const page = JSON.parse(ls.stdout);
    expect(page.items).toHaveLength(2);
    expect(page.items[0]).toMatchObject({ id: JSON.parse(run.stdout).session_id, status: 'terminated' });
    expect(page.next_cursor).toEqual(expect.any(String));
    const nodes = await cli(['nodes', 'ls', '--json'], adminEnv);
    expect(JSON.parse(nodes.stdout).items[0]).toMatchObject({ status: 'online', stale: false });
  });

  it('exec, files put and get, sessions rm on an existing session', async () => {
    // made with the admin key (p.session): the admin key works on it
    const env = adminEnv;
    const session = await p.session('python-basic');
    const bytes = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 13) % 256));
    writeFileSync(join(dir, 'blob.bin'), bytes);
    const put = await cli(['files', 'put', session.id, join(dir, 'blob.bin'), 'data/blob.bin', '--json'], env);
    expect(put.code).toBe(0);
    expect(JSON.parse(put.stdout)).toMatchObject({ path: 'data/blob.bin', size: bytes.length });
    const exec = await cli(['exec', session.id, 'print(len(open("data/blob.bin", "rb").read()))\nopen("out.txt", "w").write("made here")'], env);
    expect(exec).toMatchObject({ code: 0, stdout: '70000\n' });
    const get = await cli(['files', 'get', session.id, 'data/blob.bin', join(dir, 'back.bin')], env);
    expect(get.code).toBe(0);
    expect(readFileSync(join(dir, 'back.bin')).equals(bytes)).toBe(true);
    const cat = await cli(['files', 'get', session.id, 'out.txt'], env);
    expect(cat).toMatchObject({ code: 0, stdout: 'made here' });
    const ls = await cli(['files', 'ls', session.id], env);
    expect(ls.stdout).toMatch(/^PATH\s+SIZE\s+MODIFIED\ndata\/blob\.bin\s+70000 .*\nout\.txt\s+9 /);
    const failing = await cli(['exec', session.id, 'raise SystemExit(9)'], env);
    expect(failing.code).toBe(9);
    const rm = await cli(['sessions', 'rm', session.id], env);
    expect(rm).toMatchObject({ code: 0, stdout: `${session.id} terminated\n` });
  });

  it('creates, lists and revokes API keys (what tools/api-keys.ts did, through the API)', async () => {
    const created = await cli(['keys', 'create', '--tenant', 'acme', '--scope', 'tenant', '--name', 'acme ci', '--json'], adminEnv);
    expect(created.code).toBe(0);
    const key = JSON.parse(created.stdout);
    expect(key).toMatchObject({ tenant: 'acme', scope: 'tenant', name: 'acme ci', key: expect.stringMatching(/^sbx_/) });
    const asAcme = await cli(['sessions', 'ls', '--json'], { ...env, SANDBOX_API_KEY: key.key });
    expect(asAcme.code).toBe(0);
    const ls = await cli(['keys', 'ls', '--tenant', 'acme'], adminEnv);
    expect(ls.stdout).toContain(`${key.id}  ${key.prefix}…`);
    expect(ls.stdout).toMatch(/active\s+acme ci/);
    const revoked = await cli(['keys', 'revoke', key.id], adminEnv);
    expect(revoked).toMatchObject({ code: 0, stdout: `revoked ${key.id}\n` });
    const human = await cli(['keys', 'create', '--tenant', 'acme', '--scope', 'admin'], adminEnv);
    expect(human.stdout).toMatch(/^created key_\w+ \(admin, tenant acme\); the key, shown this once:\nsbx_\w+\n$/);
  });

  it('exits 1 on API errors with their code, 2 on usage errors', async () => {
    const missing = await cli(['sessions', 'rm', 'sess_00000000000000000000000000'], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe("sandbox: session 'sess_00000000000000000000000000' does not exist [not_found, HTTP 404]\n");
    const asJson = await cli(['sessions', 'rm', 'sess_00000000000000000000000000', '--json'], env);
    expect(asJson.code).toBe(1);
    expect(JSON.parse(asJson.stderr)).toMatchObject({ error: { status: 404, code: 'not_found' } });
    const forbidden = await cli(['nodes', 'drain', 'some-node'], env);
    expect(forbidden.code).toBe(1);
    expect(forbidden.stderr).toMatch(/\[\w+, HTTP 403\]/);
    const badKey = await cli(['sessions', 'ls'], { ...env, SANDBOX_API_KEY: 'sbx_wrong' });
    expect(badKey.code).toBe(1);
    expect(badKey.stderr).toMatch(/HTTP 401\]/);

    expect((await cli(['nosuch'], env)).code).toBe(2);
    expect((await cli(['keys', 'create', '--tenant', 'acme'], adminEnv)).stderr).toContain("required option '--scope <scope>' not specified");
    expect((await cli(['run', join(dir, 'json.py'), '--timeout', 'soon'], env)).code).toBe(2);
    expect((await cli(['run', join(dir, 'missing.py')], env)).code).toBe(2);
    const noKey = await cli(['sessions', 'ls'], { ...env, SANDBOX_API_KEY: '' });
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toContain('no API key');
    expect((await cli(['--help'], env)).code).toBe(0);
  });

  it('reads the config file, and flags win over it', async () => {
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({ url: 'http://127.0.0.1:1', api_key: env['SANDBOX_API_KEY'] }));
    const fromFile = { SANDBOX_CONFIG: config, SANDBOX_URL: '', SANDBOX_API_KEY: '' };
    const unreachable = await cli(['sessions', 'ls'], fromFile);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toContain('http://127.0.0.1:1/v1/sessions');
    const flagged = await cli(['sessions', 'ls', '--url', p.url, '--json'], fromFile);
    expect(flagged.code).toBe(0);
    expect(JSON.parse(flagged.stdout).items).toEqual(expect.any(Array));
    writeFileSync(config, '{not json');
    expect(await cli(['sessions', 'ls'], fromFile)).toMatchObject({ code: 2, stderr: expect.stringContaining('is not JSON') });
  });
});
