import { type RunEnd } from './outcome';
import { caseOutputBytes, type CaseRun, caseVerdict, judgeCase, outputDiff, summarize, VERDICTS } from './test-cases';

const clean: RunEnd = { exitCode: 0, signal: null, timedOut: false, cancelled: false, outputLimited: false, oomKilled: false, pidsLimited: false, wallMs: 5 };

describe('outputDiff', () => {
  it('matches exactly byte for byte, and points at the first line that differs', () => {
    expect(outputDiff('3\n', '3\n', 'exact')).toBeNull();
    expect(outputDiff('3\n', '3', 'exact')).toEqual({ at: 'line', index: 2, expected: null, actual: '' });
    expect(outputDiff('1\n2\n', '1\n3\n', 'exact')).toEqual({ at: 'line', index: 2, expected: '3', actual: '2' });
  });

  it('trims whitespace at line ends and blank lines at the end, but not inside', () => {
    expect(outputDiff('a b  \r\n\n\n', 'a b', 'trim')).toBeNull();
    expect(outputDiff('a\n\nb', 'a\nb', 'trim')).toEqual({ at: 'line', index: 2, expected: 'b', actual: '' });
    expect(outputDiff(' a', 'a', 'trim')).toEqual({ at: 'line', index: 1, expected: 'a', actual: ' a' });
  });

  it('compares words only with tokens, pointing at the first word that differs or is missing', () => {
    expect(outputDiff('1  2\n3\n', '1 2 3', 'tokens')).toBeNull();
    expect(outputDiff('1 2', '1 2 3', 'tokens')).toEqual({ at: 'token', index: 3, expected: '3', actual: null });
  });

  it('cuts what it shows to 200 characters', () => {
    const diff = outputDiff('x'.repeat(500), 'y', 'exact');
    expect(diff?.actual).toBe(`${'x'.repeat(200)}…`);
  });
});

describe('caseVerdict', () => {
  it('names the limit that stopped the case before anything about its output', () => {
    expect(caseVerdict({ ...clean, timedOut: true, signal: 9, exitCode: null }, '', '', 'exact').verdict).toBe('time_limit');
    expect(caseVerdict({ ...clean, oomKilled: true, signal: 9, exitCode: null }, '', '', 'exact').verdict).toBe('memory_limit');
    expect(caseVerdict({ ...clean, outputLimited: true }, 'yyy', 'y', 'exact').verdict).toBe('output_limit');
  });

  it('calls a non-zero exit or a signal a runtime error, whatever it printed', () => {
    expect(caseVerdict({ ...clean, exitCode: 1 }, '3', '3', 'exact')).toEqual({ verdict: 'runtime_error', diff: null });
    expect(caseVerdict({ ...clean, exitCode: null, signal: 11 }, '', null, 'exact').verdict).toBe('runtime_error');
  });

  it('accepts a clean exit with the expected output, or with none expected; else a wrong answer with its diff', () => {
    expect(caseVerdict(clean, '3\n', '3', 'trim')).toEqual({ verdict: 'accepted', diff: null });
    expect(caseVerdict(clean, 'anything', null, 'exact')).toEqual({ verdict: 'accepted', diff: null });
    expect(caseVerdict(clean, '4\n', '3', 'trim')).toEqual({ verdict: 'wrong_answer', diff: { at: 'line', index: 1, expected: '3', actual: '4' } });
  });
});

describe('judgeCase', () => {
  const run = (stdout: Buffer, extra: Partial<CaseRun> = {}): CaseRun => ({ ...clean, stdout, stderr: Buffer.from(''), stdoutBytes: stdout.length, stderrBytes: 0, cpuMs: 2.4, maxRssKb: 100, ...extra });
  const testCase = { stdin: '', expected_output: 'é\n', args: null, timeout: null };

  it('judges the whole output and keeps it cut to its share, saying so', () => {
    const big = Buffer.from(`${'x'.repeat(3000)}\n`);
    const r = judgeCase(run(big), { ...testCase, expected_output: big.toString() }, { binary: false, compare: 'exact', keepBytes: 1024, timeoutSeconds: 2 });
    expect(r).toMatchObject({ verdict: 'accepted', stdout: 'x'.repeat(1024), stdout_truncated: true, timeout: 2, cpu_ms: 2, peak_memory_bytes: 102_400, exit_code: 0, signal: null });
  });

  it('compares text as UTF-8, and bytes as bytes with encoding base64', () => {
    expect(judgeCase(run(Buffer.from('é\n')), testCase, { binary: false, compare: 'exact', keepBytes: 64, timeoutSeconds: 1 }).verdict).toBe('accepted');
    const bytes = Buffer.from([0, 0xff]);
    const binary = { ...testCase, expected_output: bytes.toString('base64') };
    expect(judgeCase(run(bytes), binary, { binary: true, compare: 'exact', keepBytes: 64, timeoutSeconds: 1 })).toMatchObject({ verdict: 'accepted', stdout: 'AP8=' });
    expect(judgeCase(run(Buffer.from([0, 0xfe])), binary, { binary: true, compare: 'exact', keepBytes: 64, timeoutSeconds: 1 }).verdict).toBe('wrong_answer');
  });

  it('shows a death by signal as a shell does', () => {
    expect(judgeCase(run(Buffer.from(''), { exitCode: null, signal: 9, timedOut: true }), testCase, { binary: false, compare: 'trim', keepBytes: 64, timeoutSeconds: 1 })).toMatchObject({
      verdict: 'time_limit',
      exit_code: 137,
      signal: 'SIGKILL',
    });
  });
});

describe('summarize', () => {
  it('counts every verdict, naming those with none, and the cases that ran', () => {
    const judged = (['accepted', 'accepted', 'wrong_answer'] as const).map((verdict) => ({ verdict }) as Parameters<typeof summarize>[0][number]);
    const summary = summarize(judged, 5);
    expect(summary).toMatchObject({ passed: 2, total: 5, ran: 3 });
    expect(Object.keys(summary.verdicts).sort()).toEqual([...VERDICTS].sort());
    expect(summary.verdicts).toMatchObject({ accepted: 2, wrong_answer: 1, time_limit: 0 });
  });
});

describe('caseOutputBytes', () => {
  it('shares 4 MiB over the cases, between 1 KiB and 64 KiB a stream, never over the output cap', () => {
    expect(caseOutputBytes(1, 1 << 20)).toBe(64 << 10);
    expect(caseOutputBytes(1000, 1 << 20)).toBe(2097);
    expect(caseOutputBytes(100_000, 1 << 20)).toBe(1024);
    expect(caseOutputBytes(1, 100)).toBe(100);
  });
});
