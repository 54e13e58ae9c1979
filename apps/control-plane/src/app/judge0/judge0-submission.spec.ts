import { type Execution, runtimesOf, type Template } from '@sandbox/domain';
import { judge0Languages, languageOfId, NotUtf8Error, parseToken, pickFields, submissionView, tokenOf } from './judge0-submission';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const at = new Date('2026-12-07T10:00:00Z');

function execution(over: Partial<Execution> = {}): Execution {
  return {
    id: 'exec_01JEXEC00000000000000000AB',
    sessionId: 'sess_1',
    code: 'print(1)',
    language: 'python',
    status: 'completed',
    timeout: 5,
    testCases: [{ stdin: b64('in'), expected_output: b64('1'), args: null, timeout: null }],
    testResults: null,
    compileOutput: null,
    reason: 'exited',
    error: null,
    callbackUrl: null,
    createdAt: at,
    completedAt: at,
    ...over,
  } as Execution;
}

const judged = (over: Record<string, unknown>) => ({
  compare: 'trim' as const,
  summary: { passed: 0, total: 1, ran: 1, verdicts: {} as never },
  cases: [{ verdict: 'accepted', exit_code: 0, signal: null, stdout: b64('1\n'), stderr: '', stdout_truncated: false, stderr_truncated: false, wall_ms: 12, cpu_ms: 3, peak_memory_bytes: 8 * 1024 * 1024, timeout: 5, diff: null, ...over }],
});

describe('submissionView', () => {
  it('is In Queue, then Processing, while the execution has not ended', () => {
    expect(submissionView(execution({ status: 'pending', testResults: null }), 0).status).toEqual({ id: 1, description: 'In Queue' });
    expect(submissionView(execution({ status: 'running', testResults: null }), 0).status).toEqual({ id: 2, description: 'Processing' });
  });

  it.each([
    [{ verdict: 'accepted' }, 3, null],
    [{ verdict: 'wrong_answer' }, 4, null],
    [{ verdict: 'time_limit', exit_code: 137, signal: 'SIGKILL' }, 5, 'Time limit exceeded'],
    [{ verdict: 'runtime_error', exit_code: 139, signal: 'SIGSEGV' }, 7, 'Caught fatal signal 11'],
    [{ verdict: 'runtime_error', exit_code: 153, signal: 'SIGXFSZ' }, 8, 'Caught fatal signal 25'],
    [{ verdict: 'runtime_error', exit_code: 136, signal: 'SIGFPE' }, 9, 'Caught fatal signal 8'],
    [{ verdict: 'runtime_error', exit_code: 134, signal: 'SIGABRT' }, 10, 'Caught fatal signal 6'],
    [{ verdict: 'runtime_error', exit_code: 2, signal: null }, 11, 'Exited with error status 2'],
    [{ verdict: 'runtime_error', exit_code: 143, signal: 'SIGTERM' }, 12, 'Caught fatal signal 15'],
    [{ verdict: 'memory_limit', exit_code: 137, signal: 'SIGKILL' }, 12, 'Memory limit exceeded'],
    [{ verdict: 'output_limit' }, 12, 'Output limit exceeded'],
  ] as const)('maps the case %j to status %i', (c, id, message) => {
    const view = submissionView(execution({ testResults: judged(c) as never }), 0);
    expect(view.status_id).toBe(id);
    expect(view.message === null ? null : Buffer.from(view.message, 'base64').toString()).toBe(message);
  });

  it('is a Compilation Error with the compiler output, and an Internal Error when the run never judged the case', () => {
    const failed = submissionView(execution({ reason: 'compile_error', error: 'compilation failed', compileOutput: 'main.c:1: error' }), 0);
    expect(failed.status.id).toBe(6);
    expect(Buffer.from(failed.compile_output!, 'base64').toString()).toBe('main.c:1: error');
    expect(submissionView(execution({ status: 'failed', reason: 'sandbox_lost', error: 'sandbox lost' }), 0)).toMatchObject({ status_id: 13 });
  });

  it('gives times in seconds as text, memory in KB, the exit code or the signal', () => {
    expect(submissionView(execution({ testResults: judged({}) as never }), 0)).toMatchObject({ time: '0.003', wall_time: '0.012', memory: 8192, exit_code: 0, exit_signal: null, language_id: 71 });
    expect(submissionView(execution({ testResults: judged({ verdict: 'runtime_error', exit_code: 139, signal: 'SIGSEGV' }) as never }), 0)).toMatchObject({ exit_code: null, exit_signal: 11 });
  });
});

describe('pickFields', () => {
  const view = submissionView(execution({ testResults: judged({ stdout: b64('héllo\n') }) as never }), 0);

  it("answers Judge0's eight default fields, those asked, or all", () => {
    expect(Object.keys(pickFields(view, undefined, false))).toEqual(['stdout', 'time', 'memory', 'stderr', 'token', 'compile_output', 'message', 'status']);
    expect(pickFields(view, 'stdout, status_id,nope', false)).toEqual({ stdout: 'héllo\n', status_id: 3 });
    expect(Object.keys(pickFields(view, '*', false))).toEqual(Object.keys(view));
  });

  it('gives text as UTF-8, or as base64 when asked, and refuses bytes that are not UTF-8 as text', () => {
    expect(pickFields(view, 'stdout,stdin', true)).toEqual({ stdout: b64('héllo\n'), stdin: b64('in') });
    const bytes = submissionView(execution({ testResults: judged({ stdout: Buffer.from([0xfe]).toString('base64') }) as never }), 0);
    expect(() => pickFields(bytes, 'stdout', false)).toThrow(NotUtf8Error);
  });
});

describe('tokens and languages', () => {
  it('names a case of an execution, and nothing else', () => {
    const token = tokenOf('exec_01JEXEC00000000000000000AB', 7);
    expect(parseToken(token)).toEqual({ executionId: 'exec_01JEXEC00000000000000000AB', index: 7 });
    expect(parseToken('d85cd024-1548-4165-96c7-7bc88673f194')).toBeNull();
    expect(parseToken('exec_01JEXEC00000000000000000AB.')).toBeNull();
  });

  it("takes Judge0's ids of older versions as the language", () => {
    expect([71, 92, 100, 63, 93, 46, 50, 48, 4, 54, 52, 10].map(languageOfId)).toEqual(['python', 'python', 'python', 'javascript', 'javascript', 'bash', 'c', 'c', 'c', 'cpp', 'cpp', 'cpp']);
    expect(languageOfId(72)).toBeNull();
  });

  it('lists the languages a template runs, with the versions its image said', () => {
    const gcc = { id: 'gcc', language: 'c', image: 'sandbox-gcc:12', runtimes: { image: 'sandbox-gcc:12', languages: [{ language: 'c', version: '12.2.0', runtime: 'GCC' }] } } as unknown as Template;
    const languages = judge0Languages([gcc], runtimesOf);
    expect(languages.map((l) => [l.id, l.name])).toEqual([
      [46, 'Bash'],
      [50, 'C (GCC 12.2.0)'],
      [54, 'C++'],
    ]);
  });
});
