import { encodeRun, EXECUTOR_PROTOCOL_VERSION, executorRefusal, executorReply, imageRuntimes, isResult, LineSplitter, MAX_RESULTS_BYTES, maxIoReplyBytes, maxReplyBytes, runBudgetMs, toCaseReport, toRunReport } from './executor-protocol';

function splitter(maxLine: number) {
  const lines: (string | null)[] = [];
  return { lines, split: new LineSplitter(maxLine, (line) => lines.push(line)) };
}

const b64 = (text: string) => Buffer.from(text).toString('base64');

const validResult = {
  op: 'result',
  id: 'run-1',
  exit_code: 0,
  signal: null,
  timed_out: false,
  cancelled: false,
  output_limited: false,
  stdout: b64('hello\n'),
  stderr: '',
  stdout_bytes: 6,
  stderr_bytes: 0,
  wall_ms: 12.5,
  cpu_ms: 3,
  max_rss_kb: 9000,
  oom_kills: 0,
  pids_limited: 0,
  error: null,
} as const;

type ResultReply = Parameters<typeof toRunReport>[0];

describe('LineSplitter', () => {
  it('joins a line split across chunks', () => {
    const { lines, split } = splitter(100);
    split.push(Buffer.from('{"op":'));
    split.push(Buffer.from('"pong"'));
    expect(lines).toEqual([]);
    split.push(Buffer.from('}\n'));
    expect(lines).toEqual(['{"op":"pong"}']);
  });

  it('reports every line of one chunk in order', () => {
    const { lines, split } = splitter(100);
    split.push(Buffer.from('one\ntwo\nthree\nfour'));
    expect(lines).toEqual(['one', 'two', 'three']);
    split.push(Buffer.from('\n'));
    expect(lines).toEqual(['one', 'two', 'three', 'four']);
  });

  it('reports empty lines', () => {
    const { lines, split } = splitter(100);
    split.push(Buffer.from('\n\na\n'));
    expect(lines).toEqual(['', '', 'a']);
  });

  it('decodes a multi-byte character split across chunks', () => {
    const { lines, split } = splitter(100);
    const bytes = Buffer.from('€\n');
    split.push(bytes.subarray(0, 1));
    split.push(bytes.subarray(1, 2));
    split.push(bytes.subarray(2));
    expect(lines).toEqual(['€']);
  });

  it('accepts a line of exactly maxLine bytes', () => {
    const { lines, split } = splitter(4);
    split.push(Buffer.from('ab'));
    split.push(Buffer.from('cd\n'));
    expect(lines).toEqual(['abcd']);
  });

  it('reports null for a line longer than maxLine within one chunk', () => {
    const { lines, split } = splitter(4);
    split.push(Buffer.from('abcde\n'));
    expect(lines).toEqual([null]);
  });

  it('reports null as soon as an unfinished line passes maxLine, and drops its bytes', () => {
    const { lines, split } = splitter(4);
    split.push(Buffer.from('abc'));
    split.push(Buffer.from('de'));
    expect(lines).toEqual([null]);
    split.push(Buffer.from('\nok\n'));
    expect(lines).toEqual([null, '', 'ok']);
  });

  it('drops the bytes of an over-long line instead of joining them to what follows', () => {
    const { lines, split } = splitter(4);
    split.push(Buffer.from('xxxxxxxx'));
    split.push(Buffer.from('ab\n'));
    expect(lines).toEqual([null, 'ab']);
  });

  it('does not hold on to the chunk it was given', () => {
    const { lines, split } = splitter(100);
    const chunk = Buffer.from('abc');
    split.push(chunk);
    chunk.fill(0x7a);
    split.push(Buffer.from('\n'));
    expect(lines).toEqual(['abc']);
  });

  it('applies a raised maxLine to the next bytes', () => {
    const { lines, split } = splitter(4);
    split.setMaxLine(10);
    split.push(Buffer.from('abcdefghij\n'));
    expect(lines).toEqual(['abcdefghij']);
  });

  it('applies a lowered maxLine to a line already buffered', () => {
    const { lines, split } = splitter(10);
    split.push(Buffer.from('abcdef'));
    split.setMaxLine(4);
    split.push(Buffer.from('\n'));
    expect(lines).toEqual([null]);
  });
});

describe('executorReply', () => {
  it.each([
    ['a result', validResult],
    ['a result with a signal', { ...validResult, exit_code: null, signal: 9, timed_out: true }],
    ['a ready', { op: 'ready', version: 1, pid: 7 }],
    ['a pong', { op: 'pong', id: 'p-1' }],
    ['a pong without an id', { op: 'pong', id: null }],
    ['an isolated ready', { op: 'ready', version: 2, pid: 7, isolated: true }],
    ['a pong with version and isolation', { op: 'pong', id: 'p-1', version: 2, isolated: false }],
    ['an error', { op: 'error', id: 'run-1', error: 'bad request' }],
    ['an error without an id', { op: 'error', error: 'bad json' }],
    ['a failed result', { op: 'result', id: 'run-1', error: 'language not installed' }],
    ['a scan', { op: 'scanned', id: 's-1', entries: [['a.txt', 'f', 3, '1:2:3'], ['d', 'd', 40, '4:5:6']], truncated: false, unlisted_files: 0, counted: true }],
    ['file data', { op: 'data', id: 'r-1', files: [{ path: 'a', data: b64('abc'), size: 3, token: 't', eof: true }, { path: 'b', error: 'No such file or directory' }] }],
    ['a write report', { op: 'wrote', id: 'w-1', files: [{ path: 'a', size: 3, token: 't' }, { path: 'b' }, { path: 'c', error: 'No space left on device' }] }],
    ['a removal report', { op: 'removed', id: 'x-1', errors: [] }],
    ['an output piece of 32 KiB', { op: 'output', id: 'run-1', stream: 'stderr', data: b64('x'.repeat(32768)) }],
  ])('accepts %s', (_what, reply) => {
    expect(executorReply.safeParse(reply).success).toBe(true);
  });

  it.each([
    ['exit_code 300', { ...validResult, exit_code: 300 }],
    ['a negative exit_code', { ...validResult, exit_code: -1 }],
    ['a fractional exit_code', { ...validResult, exit_code: 1.5 }],
    ['signal 0', { ...validResult, signal: 0 }],
    ['signal 65', { ...validResult, signal: 65 }],
    ['non-base64 stdout', { ...validResult, stdout: 'not base64!' }],
    ['non-base64 stderr', { ...validResult, stderr: 'é' }],
    ['a negative byte count', { ...validResult, stdout_bytes: -1 }],
    ['an unsafe byte count', { ...validResult, stderr_bytes: Number.MAX_SAFE_INTEGER + 2 }],
    ['a negative wall time', { ...validResult, wall_ms: -1 }],
    ['a string timed_out', { ...validResult, timed_out: 'false' }],
    ['a result missing stdout', (({ stdout: _stdout, ...rest }) => rest)(validResult)],
    ['a ready without a pid', { op: 'ready', version: 1 }],
    ['a pong without its id key', { op: 'pong' }],
    ['a ready whose isolation is not a boolean', { op: 'ready', version: 2, pid: 7, isolated: 'yes' }],
    ['an error without a message', { op: 'error', id: 'x' }],
    ['an error message over 4096 characters', { op: 'error', error: 'x'.repeat(4097) }],
    ['an unknown op', { op: 'run', id: 'x' }],
    ['a scan entry of an unknown kind', { op: 'scanned', id: 's', entries: [['a', 'x', 1, 't']], truncated: false, unlisted_files: 0, counted: true }],
    ['a scan entry with a negative size', { op: 'scanned', id: 's', entries: [['a', 'f', -1, 't']], truncated: false, unlisted_files: 0, counted: true }],
    ['a scan without its unlisted count', { op: 'scanned', id: 's', entries: [], truncated: false, counted: true }],
    ['file data that is not base64', { op: 'data', id: 'r', files: [{ path: 'a', data: '!!', size: 2, token: 't', eof: true }] }],
    ['a token over 128 characters', { op: 'data', id: 'r', files: [{ path: 'a', data: '', size: 0, token: 't'.repeat(129), eof: true }] }],
    ['output of an unknown stream', { op: 'output', id: 'r', stream: 'stdin', data: '' }],
    ['an output piece over 32 KiB', { op: 'output', id: 'r', stream: 'stdout', data: b64('x'.repeat(32770)) }],
    ['output that is not base64', { op: 'output', id: 'r', stream: 'stdout', data: '!!' }],
    ['a non-object', 'result'],
    ['null', null],
  ])('rejects %s', (_what, reply) => {
    expect(executorReply.safeParse(reply).success).toBe(false);
  });
});

describe('executorRefusal', () => {
  it('accepts only an isolated executor of this protocol version', () => {
    expect(EXECUTOR_PROTOCOL_VERSION).toBe(4);
    expect(executorRefusal({ version: 4, isolated: true })).toBeNull();
  });

  it.each([
    ['one whose programs share its uid', { version: 4, isolated: false }, /does not run programs under a uid of their own/],
    ['one that does not say (an image from before the isolation)', { version: 4 }, /does not run programs under a uid of their own/],
    ['another protocol version', { version: 3, isolated: true }, /protocol version 3, this agent 4/],
    ['a pong without a version (an older executor)', { isolated: true }, /protocol version unknown/],
  ])('refuses %s, saying how to fix it', (_what, hello, message) => {
    expect(executorRefusal(hello)).toMatch(message);
    expect(executorRefusal(hello)).toMatch(/rebuild the sandbox images/);
  });
});

describe('imageRuntimes', () => {
  it("keeps the languages this platform runs from the executor's hello, bounded", () => {
    const hello = executorReply.parse({ op: 'ready', version: 4, pid: 7, isolated: true, runtimes: [{ language: 'python', version: '3.11.2', runtime: 'CPython' }, { language: 'cobol', version: '1', runtime: 'x' }] });
    expect(imageRuntimes(hello as Parameters<typeof imageRuntimes>[0])).toEqual([{ language: 'python', version: '3.11.2', runtime: 'CPython' }]);
    expect(imageRuntimes({})).toEqual([]);
    expect(() => executorReply.parse({ op: 'pong', id: null, runtimes: [{ language: 'python', version: 'v'.repeat(65), runtime: 'CPython' }] })).toThrow();
  });
});

describe('isResult', () => {
  it('tells a full result from a failed result and other replies', () => {
    expect(isResult(executorReply.parse(validResult))).toBe(true);
    expect(isResult(executorReply.parse({ op: 'result', id: 'run-1', error: 'boom' }))).toBe(false);
    expect(isResult(executorReply.parse({ op: 'pong', id: null }))).toBe(false);
  });
});

describe('toRunReport', () => {
  it('decodes base64 output and carries every field over', () => {
    const report = toRunReport({ ...validResult, stderr: b64('warn'), stderr_bytes: 4 }, 1024);
    expect(report.stdout.toString()).toBe('hello\n');
    expect(report.stderr.toString()).toBe('warn');
    expect(report).toMatchObject({
      exitCode: 0,
      signal: null,
      timedOut: false,
      cancelled: false,
      outputLimited: false,
      stdoutBytes: 6,
      stderrBytes: 4,
      wallMs: 12.5,
      cpuMs: 3,
      maxRssKb: 9000,
    });
  });

  it("carries the workspace's scan when the run brought one, else null", () => {
    expect(toRunReport(validResult, 1024).scan).toBeNull();
    const scan = { entries: [['out', 'd', 4096, 't1'], ['out/a.csv', 'f', 3, 't2']], truncated: false, unlisted_files: 0, counted: true };
    expect(toRunReport(executorReply.parse({ ...validResult, scan }) as ResultReply, 1024).scan).toEqual({
      entries: [
        { path: 'out', kind: 'dir', size: 4096, token: 't1' },
        { path: 'out/a.csv', kind: 'file', size: 3, token: 't2' },
      ],
      truncated: false,
      unlistedFiles: 0,
      counted: true,
    });
    expect(() => executorReply.parse({ ...validResult, scan: { ...scan, entries: [['x', 'q', 1, 't']] } })).toThrow();
  });

  it('caps each stream at maxOutputBytes', () => {
    const reply: ResultReply = { ...validResult, stdout: b64('a'.repeat(100)), stderr: b64('b'.repeat(50)), stdout_bytes: 100, stderr_bytes: 50 };
    const report = toRunReport(reply, 10);
    expect(report.stdout).toEqual(Buffer.from('a'.repeat(10)));
    expect(report.stderr).toEqual(Buffer.from('b'.repeat(10)));
    expect(report.stdoutBytes).toBe(100);
    expect(report.stderrBytes).toBe(50);
  });

  it('never reports fewer bytes than it kept', () => {
    const report = toRunReport({ ...validResult, stdout: b64('abcdef'), stdout_bytes: 0 }, 4);
    expect(report.stdout.toString()).toBe('abcd');
    expect(report.stdoutBytes).toBe(4);
  });

  it('keeps binary output byte for byte', () => {
    const binary = Buffer.from([0x00, 0xff, 0x80, 0x0a]);
    const report = toRunReport({ ...validResult, stdout: binary.toString('base64'), stdout_bytes: 4 }, 1024);
    expect(report.stdout).toEqual(binary);
  });
});

describe('maxReplyBytes', () => {
  it('fits two full base64 streams, the rich results and a 64 KiB envelope', () => {
    expect(maxReplyBytes(0)).toBe(MAX_RESULTS_BYTES + 64 * 1024);
    expect(maxReplyBytes(3)).toBe(8 + MAX_RESULTS_BYTES + 64 * 1024);
    expect(maxReplyBytes(1 << 20)).toBe(Math.ceil(((1 << 20) * 8) / 3) + MAX_RESULTS_BYTES + 64 * 1024);
  });

  it('makes room for the scan a run asks for', () => {
    expect(maxReplyBytes(0, 100)).toBe(maxReplyBytes(0) + maxIoReplyBytes(0, 100));
  });

  it('is at least the length of a reply carrying two full streams', () => {
    for (const max of [1, 2, 1000, 1 << 16]) {
      const reply = JSON.stringify({ ...validResult, stdout: b64('x'.repeat(max)), stderr: b64('y'.repeat(max)) });
      expect(maxReplyBytes(max)).toBeGreaterThanOrEqual(Buffer.byteLength(reply));
    }
  });
});

describe('encodeRun', () => {
  const request = { id: 'run-1', language: 'python', code: 'print("a")\nprint("b")\n', timeoutMs: 30_000, maxOutputBytes: 1024 } as const;

  it('produces one JSON line ending in a newline', () => {
    const line = encodeRun(request);
    expect(line.endsWith('\n')).toBe(true);
    expect(line.indexOf('\n')).toBe(line.length - 1);
    expect(line).not.toContain('\r');
  });

  it('carries the request with empty stdin and env by default, in /workspace', () => {
    expect(JSON.parse(encodeRun(request))).toEqual({
      op: 'run',
      id: 'run-1',
      language: 'python',
      code: 'print("a")\nprint("b")\n',
      stdin: '',
      env: {},
      timeout_ms: 30_000,
      max_output_bytes: 1024,
      cwd: '/workspace',
    });
  });

  it('asks for the scan after the run only with a limit', () => {
    expect(JSON.parse(encodeRun(request))).not.toHaveProperty('scan');
    expect(JSON.parse(encodeRun({ ...request, scan: 11_000 })).scan).toBe(11_000);
  });

  it('carries the lease as whole ms of the host monotonic clock, when there is one', () => {
    expect(JSON.parse(encodeRun({ ...request, leaseUntilMs: 12_345.9 })).lease_until_ms).toBe(12_345);
  });

  it('carries stdin and env when given, and null stdin as empty', () => {
    expect(JSON.parse(encodeRun({ ...request, stdin: 'in\n', env: { A: '1\n2' } }))).toMatchObject({ stdin: 'in\n', env: { A: '1\n2' } });
    expect(JSON.parse(encodeRun({ ...request, stdin: null })).stdin).toBe('');
  });

  it('carries bytes of stdin as base64, and args only when there are some', () => {
    const sent = JSON.parse(encodeRun({ ...request, stdin: Uint8Array.from([0, 255, 10]), args: ['a b', ''] }));
    expect(sent).toMatchObject({ stdin_base64: 'AP8K', args: ['a b', ''] });
    expect(sent).not.toHaveProperty('stdin');
    expect(JSON.parse(encodeRun({ ...request, args: [] }))).not.toHaveProperty('args');
  });

  it('asks for the output as it comes only when someone listens', () => {
    expect(JSON.parse(encodeRun({ ...request, onOutput: () => undefined })).stream).toBe(true);
    expect(JSON.parse(encodeRun(request))).not.toHaveProperty('stream');
  });

  it('carries test cases with their own stdin (bytes as base64), args and limit, and the budget for them all', () => {
    const sent = JSON.parse(
      encodeRun({ ...request, cases: [{ stdin: '1 2', args: [], timeoutMs: 1000 }, { stdin: Uint8Array.from([255]), args: ['-v'], timeoutMs: 2000 }], casesBudgetMs: 60_000 }),
    );
    expect(sent).toMatchObject({ cases: [{ stdin: '1 2', timeout_ms: 1000 }, { stdin_base64: '/w==', args: ['-v'], timeout_ms: 2000 }], cases_budget_ms: 60_000 });
    expect(sent.cases[0]).not.toHaveProperty('args');
    expect(JSON.parse(encodeRun(request))).not.toHaveProperty('cases');
  });

  it('survives the LineSplitter as one line', () => {
    const { lines, split } = splitter(1 << 16);
    split.push(Buffer.from(encodeRun({ ...request, code: 'a\nb\r\nc\u2028d', stdin: '\n\n' })));
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!).code).toBe('a\nb\r\nc\u2028d');
  });
});

describe('test cases and compiles on the wire', () => {
  const { op: _op, ...end } = validResult;
  const build = { exit_code: 1, signal: null, timed_out: false, cancelled: false, oom_kills: 0, wall_ms: 40, cpu_ms: 39, output: b64('main.c:1:1: error') };

  it('parses a case as it comes and reports it like a run, capped', () => {
    const reply = executorReply.parse({ ...end, op: 'case', index: 2, stdout: b64('x'.repeat(20)), stdout_bytes: 20 });
    expect(reply.op).toBe('case');
    expect(toCaseReport(reply as Parameters<typeof toCaseReport>[0], 5)).toMatchObject({ exitCode: 0, stdout: Buffer.from('xxxxx'), stdoutBytes: 20, oomKilled: false });
  });

  it('refuses a case with a negative index or a result with a compile output over its cap', () => {
    expect(() => executorReply.parse({ ...end, op: 'case', index: -1 })).toThrow();
    expect(executorReply.parse({ ...validResult, compile: { ...build, output: b64('e'.repeat(65_536)) } }).op).toBe('result');
    expect(() => executorReply.parse({ ...validResult, compile: { ...build, output: b64('e'.repeat(80_000)) } })).toThrow();
  });

  it("carries the compile's end and output, and the number of cases run", () => {
    const report = toRunReport({ ...validResult, compile: build, cases_run: 3 }, 1024);
    expect(report.compile).toEqual({ exitCode: 1, signal: null, timedOut: false, oomKilled: false, output: Buffer.from('main.c:1:1: error'), wallMs: 40 });
    expect(report.casesRun).toBe(3);
    expect(toRunReport(validResult, 1024)).toMatchObject({ compile: null, casesRun: null });
  });

  it('gives up on an executor after the compile, every case and their slack, or the budget for them all', () => {
    const cases = [1000, 2000, 3000].map((timeoutMs) => ({ stdin: '', args: [], timeoutMs }));
    expect(runBudgetMs({ timeoutMs: 10_000 }, 5000)).toBe(15_000);
    expect(runBudgetMs({ timeoutMs: 10_000, cases }, 5000)).toBe(10_000 + 5000 + 6000 + 3 * 250);
    expect(runBudgetMs({ timeoutMs: 10_000, cases, casesBudgetMs: 2500 }, 5000)).toBe(10_000 + 5000 + 2500 + 3 * 250);
  });
});
