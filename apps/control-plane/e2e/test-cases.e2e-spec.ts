import { TestPlatform } from '@sandbox/testing';

const SUM_C = `#include <stdio.h>
int main(void) {
  long a, b;
  if (scanf("%ld %ld", &a, &b) != 2) return 3;
  printf("%ld\\n", a + b);
  return 0;
}`;

/**
 * Grading: one program against many test cases in one execution (compiled once, judged per case, cases
 * isolated), and the runtimes each template offers.
 */
describe('test cases and runtimes', () => {
  let p: TestPlatform;

  beforeAll(async () => {
    p = await TestPlatform.start('e2e-test-cases', { warmPool: 'python-basic=1,gcc=1' });
  });

  afterAll(async () => {
    await p?.stop();
  });

  const verdicts = (e: { test_results: { cases: { verdict: string }[] } }) => e.test_results.cases.map((c) => c.verdict);

  it('compiles a C program once and judges every case: accepted, wrong answer with its diff, runtime error, time limit', async () => {
    const s = await p.session('gcc');
    const e = await p.execute(s.id, {
      code: SUM_C.replace('return 0;', 'if (a == 7) for (;;);\n  return 0;'),
      test_cases: [
        { stdin: '1 2', expected_output: '3\n' },
        { stdin: '2 2', expected_output: '5' },
        { stdin: 'x' },
        { stdin: '7 0', timeout: 1 },
        { stdin: '20 22', expected_output: '42' },
      ],
    });
    expect(e).toMatchObject({ status: 'completed', reason: 'exited', language: 'c', compile_output: '', attempt: 1 });
    expect(verdicts(e)).toEqual(['accepted', 'wrong_answer', 'runtime_error', 'time_limit', 'accepted']);
    expect(e.test_results.summary).toEqual({
      passed: 2,
      total: 5,
      ran: 5,
      verdicts: { accepted: 2, wrong_answer: 1, time_limit: 1, memory_limit: 0, output_limit: 0, runtime_error: 1 },
    });
    expect(e.test_results.cases[1]).toMatchObject({ stdout: '4\n', exit_code: 0, diff: { at: 'line', index: 1, expected: '5', actual: '4' } });
    expect(e.test_results.cases[2]).toMatchObject({ exit_code: 3, diff: null });
    expect(e.test_results.cases[3]).toMatchObject({ timeout: 1, signal: 'SIGKILL' });
    // the compiled binary is not left in the workspace, nor anything the cases wrote
    expect((await p.api('GET', `/v1/sessions/${s.id}/files`)).body.items).toEqual([]);
  });

  it('ends a program that does not compile with compile_error and what the compiler said, running no case', async () => {
    const s = await p.session('gcc');
    const e = await p.execute(s.id, { code: 'int main(void) { return undefined_name; }', test_cases: [{ stdin: '' }, { stdin: '' }] });
    expect(e).toMatchObject({ status: 'completed', reason: 'compile_error', exit_code: 1 });
    expect(e.error).toMatch(/compilation failed: the compiler exited with 1/);
    expect(e.compile_output).toMatch(/main\.c:1:\d+: error: .undefined_name. undeclared/);
    expect(e.test_results).toMatchObject({ summary: { passed: 0, total: 2, ran: 0 }, cases: [] });
    // a plain C++ run compiles the same way
    const cpp = await p.execute(s.id, { code: '#include <iostream>\nint main() { std::string s; std::cin >> s; std::cout << s.size() << "\\n"; }', language: 'cpp', stdin: 'hello' });
    expect(cpp).toMatchObject({ status: 'completed', reason: 'exited', stdout: '5\n', compile_output: '', test_results: null });
  });

  it('contains a fork bomb and a memory bomb to their own case: the cases after them pass', async () => {
    const s = await p.session('python-basic', { resources: { memory: '256Mi' } });
    const code = [
      'import os, sys',
      'what = sys.argv[1]',
      'if what == "fork":',
      '    while True:',
      '        try: os.fork()',
      '        except OSError: pass',
      'if what == "memory":',
      '    hog = []',
      '    while True: hog.append(bytearray(16 << 20))',
      'if what == "output":',
      '    while True: print("y" * 1000)',
      'if what == "crash":',
      '    raise ValueError("boom")',
      'print(sum(map(int, sys.stdin.read().split())))',
    ].join('\n');
    const e = await p.execute(s.id, {
      code,
      test_cases: [
        { args: ['fork'], timeout: 2 },
        { args: ['ok'], stdin: '1 2 3', expected_output: '6' },
        { args: ['memory'], timeout: 20 },
        { args: ['ok'], stdin: '4 5', expected_output: '9' },
        { args: ['output'] },
        { args: ['crash'] },
        { args: ['ok'], stdin: '10 20', expected_output: '30' },
      ],
    });
    expect(e).toMatchObject({ status: 'completed', reason: 'exited' });
    expect(verdicts(e)).toEqual(['time_limit', 'accepted', 'memory_limit', 'accepted', 'output_limit', 'runtime_error', 'accepted']);
    expect(e.test_results.cases[5].stderr).toMatch(/ValueError: boom/);
    expect(e.test_results.cases[4].stdout_truncated).toBe(true);
  });

  it("isolates cases: none sees another's files or processes, and the workspace ends as it began", async () => {
    const s = await p.session();
    await p.execute(s.id, { code: 'open("kept.txt", "w").write("before")' });
    const code = [
      'import os, subprocess, sys',
      'seen = sorted(f for f in os.listdir(".") if f != "kept.txt") + sorted(os.listdir("/tmp")) + sorted(os.listdir("/dev/shm"))',
      'procs = [p for p in os.listdir("/proc") if p.isdigit() and open(f"/proc/{p}/cmdline", "rb").read().startswith(b"sleep")]',
      'kept = open("kept.txt").read()',
      'open("kept.txt", "w").write("changed")',
      'for where in (".", "/tmp", "/dev/shm"):',
      '    os.makedirs(f"{where}/left/deep", exist_ok=True)',
      '    open(f"{where}/left/deep/f", "w").write("x")',
      'os.chmod("left", 0)',
      'subprocess.Popen(["sleep", "300"], start_new_session=True)',
      'print(kept, len(procs), [f for f in seen if f != ".sandbox"])',
    ].join('\n');
    const e = await p.execute(s.id, { code, test_cases: Array.from({ length: 3 }, () => ({ expected_output: 'before 0 []' })) });
    expect(verdicts(e)).toEqual(['accepted', 'accepted', 'accepted']);
    expect((await p.execute(s.id, { code: 'import os\nprint(open("kept.txt").read(), sorted(os.listdir(".")))' })).stdout).toBe("before ['kept.txt']\n");
  });

  it('compares exactly, trimmed or by tokens, and byte for byte with encoding base64', async () => {
    const s = await p.session();
    const code = 'import sys\nsys.stdout.write(sys.stdin.read())';
    const cases = [{ stdin: 'a b  \n\n', expected_output: 'a b' }, { stdin: 'a\n b', expected_output: 'a b' }];
    const judge = async (compare?: string) => verdicts(await p.execute(s.id, { code, test_cases: cases, ...(compare ? { compare } : {}) }));
    expect(await judge()).toEqual(['accepted', 'wrong_answer']);
    expect(await judge('exact')).toEqual(['wrong_answer', 'wrong_answer']);
    expect(await judge('tokens')).toEqual(['accepted', 'accepted']);
    const bytes = (b: number[]) => Buffer.from(b).toString('base64');
    const binary = await p.execute(s.id, {
      code: 'import sys\nsys.stdout.buffer.write(sys.stdin.buffer.read()[::-1])',
      encoding: 'base64',
      compare: 'exact',
      test_cases: [
        { stdin: bytes([0, 255, 1]), expected_output: bytes([1, 255, 0]) },
        { stdin: bytes([0xfe]), expected_output: bytes([0xff]) },
      ],
    });
    expect(verdicts(binary)).toEqual(['accepted', 'wrong_answer']);
    expect(binary.test_results.cases[0].stdout).toBe(bytes([1, 255, 0]));
  });

  it('runs 1,000 cases in one execution: one claim, one attempt, every case judged', async () => {
    const s = await p.session();
    const test_cases = Array.from({ length: 1000 }, (_, i) => ({ stdin: `${i}`, expected_output: `${i * 2}` }));
    const e = await p.execute(s.id, { code: 'print(int(input()) * 2)', test_cases });
    expect(e).toMatchObject({ status: 'completed', attempt: 1, test_results: { summary: { passed: 1000, total: 1000, ran: 1000 } } });
    expect(e.test_results.cases[999]).toMatchObject({ verdict: 'accepted', stdout: '1998\n' });
  });

  it("lists every template's languages at the versions their images' own commands say, with aliases an execution may use", async () => {
    const s = await p.session('gcc');
    const said = async (code: string, sessionId = s.id) => (await p.execute(sessionId, { code, language: 'sh' })).stdout.trim();
    const runtimes = async () => (await p.api('GET', '/v1/runtimes')).body.items as { template_id: string; language: string; version: string | null }[];
    // recorded by the agent from the warm pool's first sandbox of each image
    await p.until('the gcc image recorded', async () => ((await runtimes()).find((r) => r.template_id === 'gcc')?.version ? true : null));
    const items = await runtimes();
    expect(items.filter((r) => r.template_id === 'gcc')).toEqual([
      { template_id: 'gcc', language: 'c', version: await said('gcc -dumpfullversion'), runtime: 'GCC', aliases: ['gcc'], compiled: true },
      { template_id: 'gcc', language: 'cpp', version: await said('g++ -dumpfullversion'), runtime: 'GCC', aliases: ['c++', 'g++'], compiled: true },
      { template_id: 'gcc', language: 'bash', version: expect.stringMatching(/^5\.\d+/), runtime: 'GNU Bash', aliases: ['sh'], compiled: false },
    ]);
    const py = await p.session();
    const python = await said('python3 -c "import platform; print(platform.python_version())"', py.id);
    expect(items.find((r) => r.template_id === 'python-basic' && r.language === 'python')).toMatchObject({ version: python, runtime: 'CPython' });
    // no sandbox of the node image started on this platform yet: its languages are listed, their versions not known
    expect(items.filter((r) => r.template_id === 'nodejs-basic').map((r) => [r.language, r.version])).toEqual([['javascript', null], ['bash', null]]);
    expect((await p.api('GET', '/v1/templates/gcc')).body.runtimes.map((r: { language: string }) => r.language)).toEqual(['c', 'cpp', 'bash']);
    // aliases run as their language, and are stored under its name
    const cpp = await p.execute(s.id, { code: '#include <cstdio>\nint main() { std::puts(__cplusplus >= 201703L ? "17" : "old"); }', language: 'c++' });
    expect(cpp).toMatchObject({ language: 'cpp', stdout: '17\n' });
    expect((await p.api('POST', `/v1/sessions/${s.id}/executions`, { code: 'x', language: 'cobol' })).body.error.details[0].message).toMatch(/c, cpp, bash/);
  });

  it('refuses bad test cases with the status and field that say what to fix', async () => {
    const s = await p.session();
    const refusals: [Record<string, unknown>, number, string][] = [
      [{ test_cases: [] }, 422, 'test_cases'],
      [{ test_cases: [{ stdin: '' }], stdin: 'x' }, 422, 'test_cases'],
      [{ compare: 'exact' }, 422, 'compare'],
      [{ test_cases: [{ stdin: '' }], compare: 'fuzzy' }, 422, 'compare'],
      [{ test_cases: [{ stdin: '', timeout: 301 }] }, 422, 'test_cases.0.timeout'],
      [{ test_cases: [{ stdin: '', wat: 1 }] }, 422, 'test_cases.0.wat'],
      [{ test_cases: Array.from({ length: 1001 }, () => ({})) }, 422, 'test_cases'],
      [{ test_cases: [{ stdin: '!' }], encoding: 'base64' }, 422, 'test_cases'],
      [{ test_cases: Array.from({ length: 4 }, () => ({ stdin: 'x'.repeat(900_000) })) }, 413, 'test_cases'],
    ];
    for (const [extra, status, field] of refusals) {
      const r = await p.api('POST', `/v1/sessions/${s.id}/executions`, { code: 'print(1)', ...extra });
      expect({ extra: Object.keys(extra), status: r.status, field: r.body.error?.details?.[0]?.field }).toEqual({ extra: Object.keys(extra), status, field });
    }
  });
});
