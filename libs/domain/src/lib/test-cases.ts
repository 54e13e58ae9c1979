import { type RunEnd, shellExitCode, signalName } from './outcome';
import { storableBase64, storableOutput } from './output';

/**
 * How a case's output is held against its expected output: `exact` byte for byte; `trim` ignores
 * whitespace at the end of every line and blank lines at the end (the usual judge's default);
 * `tokens` compares the whitespace-separated words only.
 */
export const COMPARE_MODES = ['exact', 'trim', 'tokens'] as const;
export type CompareMode = (typeof COMPARE_MODES)[number];
export const DEFAULT_COMPARE: CompareMode = 'trim';

/** A test case's verdict, first match wins in this order but `accepted` and `wrong_answer`, which come last. */
export const VERDICTS = ['accepted', 'wrong_answer', 'time_limit', 'memory_limit', 'output_limit', 'runtime_error'] as const;
export type Verdict = (typeof VERDICTS)[number];

/** One test case of an execution, as asked (stdin and expected output in the execution's encoding). */
export interface TestCase {
  readonly stdin: string;
  readonly expected_output: string | null;
  readonly args: readonly string[] | null;
  /** Wall-time limit, seconds; null: the execution's. */
  readonly timeout: number | null;
}

/** Where the output first departs from the expected: a line (exact, trim) or a word (tokens), 1-based. */
export interface CaseDiff {
  readonly at: 'line' | 'token';
  readonly index: number;
  /** null: the output ended before (actual) or went on after (expected) the other. */
  readonly expected: string | null;
  readonly actual: string | null;
}

export interface CaseResult {
  readonly verdict: Verdict;
  readonly exit_code: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly stdout_truncated: boolean;
  readonly stderr_truncated: boolean;
  readonly wall_ms: number;
  readonly cpu_ms: number;
  readonly peak_memory_bytes: number;
  /** Its wall-time limit, seconds. */
  readonly timeout: number;
  readonly diff: CaseDiff | null;
}

export interface TestSummary {
  readonly passed: number;
  readonly total: number;
  /** Cases that ran: fewer than total when the execution was cancelled or its program did not compile. */
  readonly ran: number;
  /** Cases by verdict, every verdict named. */
  readonly verdicts: Readonly<Record<Verdict, number>>;
}

/** What an execution with test cases stores and answers: the summary, then every case in order. */
export interface TestResults {
  readonly compare: CompareMode;
  readonly summary: TestSummary;
  readonly cases: readonly CaseResult[];
}

// a diff line or word shown is cut to this many characters
const DIFF_CHARS = 200;
// every case's stdout and stderr kept together (a row holds them all); each stream gets its share
const CASES_OUTPUT_BYTES = 4 << 20;

/** Bytes of each stream kept per case: a share of CASES_OUTPUT_BYTES, from 1 KiB to 64 KiB. */
export function caseOutputBytes(cases: number, outputCap: number): number {
  return Math.min(outputCap, 64 << 10, Math.max(1 << 10, Math.floor(CASES_OUTPUT_BYTES / (2 * Math.max(1, cases)))));
}

const cut = (s: string | undefined): string | null => (s === undefined ? null : s.length > DIFF_CHARS ? `${s.slice(0, DIFF_CHARS)}…` : s);

function linesOf(text: string, mode: 'exact' | 'trim'): string[] {
  const lines = text.split('\n');
  if (mode === 'exact') return lines;
  const trimmed = lines.map((l) => l.replace(/\s+$/, ''));
  while (trimmed.length && trimmed[trimmed.length - 1] === '') trimmed.pop();
  return trimmed;
}

/** Where `actual` first departs from `expected` under `mode`, or null when they match. */
export function outputDiff(actual: string, expected: string, mode: CompareMode): CaseDiff | null {
  if (mode === 'exact' && actual === expected) return null;
  const [a, e, at] =
    mode === 'tokens'
      ? [actual.split(/\s+/).filter(Boolean), expected.split(/\s+/).filter(Boolean), 'token' as const]
      : [linesOf(actual, mode), linesOf(expected, mode), 'line' as const];
  const n = Math.max(a.length, e.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== e[i]) return { at, index: i + 1, expected: cut(e[i]), actual: cut(a[i]) };
  }
  // exact: equal lines, unequal text cannot happen; the others: equal once normalised
  return null;
}

/**
 * A case's verdict from how its run ended (the executor's report and the container's counters) and,
 * when it exited cleanly, its output against the expected one; a case without an expected output is
 * accepted when it exits 0.
 */
export function caseVerdict(end: RunEnd, actual: string, expected: string | null, mode: CompareMode): { verdict: Verdict; diff: CaseDiff | null } {
  if (end.timedOut) return { verdict: 'time_limit', diff: null };
  if (end.oomKilled) return { verdict: 'memory_limit', diff: null };
  if (end.outputLimited) return { verdict: 'output_limit', diff: null };
  if (end.signal !== null || end.exitCode !== 0) return { verdict: 'runtime_error', diff: null };
  const diff = expected === null ? null : outputDiff(actual, expected, mode);
  return { verdict: diff ? 'wrong_answer' : 'accepted', diff };
}

/** One run of a test case as the sandbox reported it (parsed and bounded by the runtime). */
export interface CaseRun extends RunEnd {
  readonly stdout: Uint8Array;
  readonly stderr: Uint8Array;
  readonly stdoutBytes: number;
  readonly stderrBytes: number;
  readonly cpuMs: number;
  readonly maxRssKb: number;
}

/**
 * A case's stored result: the verdict on its whole output (as much as the output cap let through),
 * the output kept cut to `keepBytes` a stream. `binary` (encoding base64): the expected output is base64
 * too, the comparison is of the bytes and the output is kept as base64.
 */
export function judgeCase(run: CaseRun, testCase: TestCase, how: { binary: boolean; compare: CompareMode; keepBytes: number; timeoutSeconds: number }): CaseResult {
  const { binary } = how;
  const actual = binary ? Buffer.from(run.stdout).toString('latin1') : storableOutput(run.stdout, run.stdout.length).text;
  const expected = testCase.expected_output === null ? null : binary ? Buffer.from(testCase.expected_output, 'base64').toString('latin1') : testCase.expected_output;
  const { verdict, diff } = caseVerdict(run, actual, expected, how.compare);
  const store = binary ? storableBase64 : storableOutput;
  const stdout = store(run.stdout, how.keepBytes);
  const stderr = store(run.stderr, how.keepBytes);
  return {
    verdict,
    exit_code: shellExitCode(run),
    signal: run.signal === null ? null : signalName(run.signal),
    stdout: stdout.text,
    stderr: stderr.text,
    stdout_truncated: stdout.truncated || run.stdoutBytes > run.stdout.length,
    stderr_truncated: stderr.truncated || run.stderrBytes > run.stderr.length,
    wall_ms: Math.round(run.wallMs),
    cpu_ms: Math.round(run.cpuMs),
    peak_memory_bytes: run.maxRssKb * 1024,
    timeout: how.timeoutSeconds,
    diff,
  };
}

export function summarize(cases: readonly CaseResult[], total: number): TestSummary {
  const verdicts = Object.fromEntries(VERDICTS.map((v) => [v, 0])) as Record<Verdict, number>;
  for (const c of cases) verdicts[c.verdict] += 1;
  return { passed: verdicts.accepted, total, ran: cases.length, verdicts };
}
