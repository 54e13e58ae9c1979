// Grading (issue 16), on the whole platform, in one run:
//   python  a 1,000-case submission of a small program (`print(int(input()) * 2)`) against the same
//           1,000 inputs as 1,000 separate executions of that session (the baseline), 16 in flight
//   c       a 200-case submission of a C program (compiled once) against 200 separate executions
//           (each compiled again)
// Cases per second from the client's first request to the last verdict.
// Usage: npm run bench:test-cases   (writes tools/bench/results/test-cases.json)
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, TestPlatform } from '@sandbox/testing';

const IN_FLIGHT = 16;
const SUM_C = '#include <stdio.h>\nint main(void) { long a; if (scanf("%ld", &a) != 1) return 3; printf("%ld\\n", a * 2); return 0; }';

const round = (n: number) => Math.round(n * 100) / 100;

/** Runs `n` separate executions with IN_FLIGHT at a time; every one must print `2i`. */
async function separately(p: TestPlatform, sessionId: string, code: string, n: number): Promise<number> {
  const t0 = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const e = await p.execute(sessionId, { code, stdin: `${i}` });
      if (e.stdout !== `${i * 2}\n`) throw new Error(`execution ${i}: ${JSON.stringify(e)}`);
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  return performance.now() - t0;
}

/** One execution with `n` test cases; every case must be accepted. */
async function asCases(p: TestPlatform, sessionId: string, code: string, n: number): Promise<number> {
  const t0 = performance.now();
  const e = await p.execute(sessionId, { code, test_cases: Array.from({ length: n }, (_, i) => ({ stdin: `${i}`, expected_output: `${i * 2}` })) });
  if (e.test_results?.summary.passed !== n) throw new Error(`submission: ${JSON.stringify(e.test_results?.summary ?? e)}`);
  return performance.now() - t0;
}

async function compare(p: TestPlatform, template: string, code: string, n: number) {
  const s = await p.session(template);
  const cases = await asCases(p, s.id, code, n);
  const executions = await separately(p, s.id, code, n);
  return {
    cases: n,
    submission_ms: round(cases),
    cases_per_second: round((n * 1000) / cases),
    baseline_separate_executions_ms: round(executions),
    baseline_executions_per_second: round((n * 1000) / executions),
    speedup: round(executions / cases),
  };
}

async function main(): Promise<void> {
  const p = await TestPlatform.start('bench-test-cases', { warmPool: 'python-basic=1,gcc=1' });
  try {
    const result = {
      date: new Date().toISOString(),
      in_flight: IN_FLIGHT,
      python: await compare(p, 'python-basic', 'print(int(input()) * 2)', 1000),
      c: await compare(p, 'gcc', SUM_C, 200),
    };
    writeFileSync(join(REPO_ROOT, 'tools/bench/results/test-cases.json'), `${JSON.stringify(result, null, 2)}\n`);
    console.log(JSON.stringify(result, null, 2));
  } finally {
    await p.stop();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
