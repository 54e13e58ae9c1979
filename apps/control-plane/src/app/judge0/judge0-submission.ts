import { type CaseResult, type Execution, isExecutionTerminal, type Language, type OfferedRuntime, signalNumber, type Template } from '@sandbox/domain';

/**
 * Judge0 CE's vocabulary on this platform's executions (the contract: Judge0's API documentation). A
 * submission is one test case of an execution: `<execution id>.<case index>` is its token, so a batch
 * of submissions of one program is one execution, compiled once.
 */

/** Judge0's status ids and descriptions. */
export const JUDGE0_STATUSES = [
  { id: 1, description: 'In Queue' },
  { id: 2, description: 'Processing' },
  { id: 3, description: 'Accepted' },
  { id: 4, description: 'Wrong Answer' },
  { id: 5, description: 'Time Limit Exceeded' },
  { id: 6, description: 'Compilation Error' },
  { id: 7, description: 'Runtime Error (SIGSEGV)' },
  { id: 8, description: 'Runtime Error (SIGXFSZ)' },
  { id: 9, description: 'Runtime Error (SIGFPE)' },
  { id: 10, description: 'Runtime Error (SIGABRT)' },
  { id: 11, description: 'Runtime Error (NZEC)' },
  { id: 12, description: 'Runtime Error (Other)' },
  { id: 13, description: 'Internal Error' },
  { id: 14, description: 'Exec Format Error' },
] as const;

/** Judge0 CE's language ids this platform runs: the listed one first, then older versions' ids taken as it. */
const LANGUAGE_IDS: readonly { readonly language: Language; readonly id: number; readonly also: readonly number[]; readonly name: string; readonly sourceFile: string }[] = [
  { language: 'bash', id: 46, also: [], name: 'Bash', sourceFile: 'script.sh' },
  // 4 and 10: the ids of C and C++ in the examples of Judge0's documentation (its first API's)
  { language: 'c', id: 50, also: [4, 48, 49, 103], name: 'C', sourceFile: 'main.c' },
  { language: 'cpp', id: 54, also: [10, 52, 53, 105], name: 'C++', sourceFile: 'main.cpp' },
  { language: 'javascript', id: 63, also: [93, 102], name: 'JavaScript', sourceFile: 'script.js' },
  { language: 'python', id: 71, also: [92, 100], name: 'Python', sourceFile: 'script.py' },
];

const RUN_COMMANDS: Readonly<Record<Language, { compile: string | null; run: string }>> = {
  bash: { compile: null, run: '/bin/bash script.sh' },
  c: { compile: 'gcc -O2 -pipe -std=gnu17 -o main main.c -lm', run: './main' },
  cpp: { compile: 'g++ -O2 -pipe -std=gnu++17 -o main main.cpp -lm', run: './main' },
  javascript: { compile: null, run: 'node script.js' },
  python: { compile: null, run: 'python3 script.py' },
};

export function languageOfId(id: number): Language | null {
  return LANGUAGE_IDS.find((l) => l.id === id || l.also.includes(id))?.language ?? null;
}

export function idOfLanguage(language: string): number | null {
  return LANGUAGE_IDS.find((l) => l.language === language)?.id ?? null;
}

/** The template a language's submissions run in: the one whose own language it is, else the first that offers it. */
export function templateFor(language: Language, templates: readonly Template[], offered: (t: Template) => readonly OfferedRuntime[]): Template | null {
  return templates.find((t) => t.language === language) ?? templates.find((t) => offered(t).some((r) => r.language === language)) ?? null;
}

export interface Judge0Language {
  readonly id: number;
  readonly name: string;
  readonly is_archived: boolean;
  readonly source_file: string;
  readonly compile_cmd: string | null;
  readonly run_cmd: string;
}

/** Every language with a template to run it, named as Judge0 names them: with the version its image runs. */
export function judge0Languages(templates: readonly Template[], offered: (t: Template) => readonly OfferedRuntime[]): Judge0Language[] {
  return LANGUAGE_IDS.flatMap((l) => {
    const template = templateFor(l.language, templates, offered);
    if (!template) return [];
    const runtime = offered(template).find((r) => r.language === l.language);
    const version = runtime?.version ? ` (${runtime.runtime === 'GCC' ? `GCC ${runtime.version}` : runtime.runtime === 'Node.js' ? `Node.js ${runtime.version}` : runtime.version})` : '';
    const commands = RUN_COMMANDS[l.language];
    return [{ id: l.id, name: `${l.name}${version}`, is_archived: false, source_file: l.sourceFile, compile_cmd: commands.compile, run_cmd: commands.run }];
  });
}

export function tokenOf(executionId: string, index: number): string {
  return `${executionId}.${index}`;
}

/** The execution id and case index a token names, or null when it names none. */
export function parseToken(token: string): { executionId: string; index: number } | null {
  const m = /^(exec_[0-9A-HJKMNP-TV-Z]{26})\.(\d{1,4})$/.exec(token);
  return m ? { executionId: m[1]!, index: Number(m[2]) } : null;
}

type Status = (typeof JUDGE0_STATUSES)[number];
const status = (id: number): Status => JUDGE0_STATUSES[id - 1]!;
const RUNTIME_ERRORS: Readonly<Record<number, number>> = { 11: 7, 25: 8, 8: 9, 6: 10 };

/** A case's Judge0 status and message (why, where Judge0 has no status of its own for it). */
function caseStatus(c: CaseResult): { status: Status; message: string | null } {
  switch (c.verdict) {
    case 'accepted':
      return { status: status(3), message: null };
    case 'wrong_answer':
      return { status: status(4), message: null };
    case 'time_limit':
      return { status: status(5), message: 'Time limit exceeded' };
    case 'memory_limit':
      return { status: status(12), message: 'Memory limit exceeded' };
    case 'output_limit':
      return { status: status(12), message: 'Output limit exceeded' };
    case 'runtime_error': {
      const signal = c.signal ? signalNumber(c.signal) : null;
      if (signal === null) return { status: status(11), message: `Exited with error status ${c.exit_code}` };
      return { status: status(RUNTIME_ERRORS[signal] ?? 12), message: `Caught fatal signal ${signal}` };
    }
  }
}

/** Every attribute of a submission as Judge0 names them, its text as stored (base64 of the bytes). */
export interface SubmissionView {
  readonly token: string;
  readonly source_code: string;
  readonly language_id: number | null;
  readonly stdin: string | null;
  readonly expected_output: string | null;
  readonly stdout: string | null;
  readonly stderr: string | null;
  readonly compile_output: string | null;
  readonly message: string | null;
  readonly exit_code: number | null;
  readonly exit_signal: number | null;
  readonly status: Status;
  readonly status_id: number;
  readonly created_at: string;
  readonly finished_at: string | null;
  readonly time: string | null;
  readonly wall_time: string | null;
  readonly memory: number | null;
  readonly cpu_time_limit: number;
  readonly wall_time_limit: number;
  readonly command_line_arguments: string | null;
  readonly callback_url: string | null;
}

const seconds = (ms: number) => (ms / 1000).toFixed(3);
const b64 = (text: string | null) => (text ? Buffer.from(text).toString('base64') : null);

/**
 * Submission `index` of an execution (its test case), every text attribute as base64 of its bytes:
 * the execution runs with encoding base64, so its stdin, expected output and outputs are base64 already.
 */
export function submissionView(e: Execution, index: number): SubmissionView {
  const asked = e.testCases?.[index];
  const judged = e.testResults?.cases[index];
  const terminal = isExecutionTerminal(e.status);
  let state: { status: Status; message: string | null };
  if (!terminal) state = { status: status(e.status === 'pending' ? 1 : 2), message: null };
  else if (e.reason === 'compile_error') state = { status: status(6), message: e.error };
  else if (judged) state = caseStatus(judged);
  else state = { status: status(13), message: e.error ?? 'the submission did not run' };
  const signal = judged?.signal ? signalNumber(judged.signal) : null;
  return {
    token: tokenOf(e.id, index),
    source_code: Buffer.from(e.code).toString('base64'),
    language_id: idOfLanguage(e.language),
    stdin: asked?.stdin || null,
    expected_output: asked?.expected_output ?? null,
    stdout: judged?.stdout || null,
    stderr: judged?.stderr || null,
    compile_output: e.compileOutput ? b64(e.compileOutput) : null,
    message: state.message ? b64(state.message) : null,
    exit_code: judged && signal === null ? judged.exit_code : null,
    exit_signal: signal,
    status: state.status,
    status_id: state.status.id,
    created_at: e.createdAt.toISOString(),
    finished_at: terminal ? (e.completedAt?.toISOString() ?? null) : null,
    time: judged ? seconds(judged.cpu_ms) : null,
    wall_time: judged ? seconds(judged.wall_ms) : null,
    memory: judged ? Math.round(judged.peak_memory_bytes / 1024) : null,
    cpu_time_limit: asked?.timeout ?? e.timeout,
    wall_time_limit: asked?.timeout ?? e.timeout,
    command_line_arguments: asked?.args?.length ? asked.args.join(' ') : null,
    callback_url: e.callbackUrl,
  };
}

/** What GET answers when `fields` is not given (Judge0's 8 default attributes). */
export const DEFAULT_FIELDS = ['stdout', 'time', 'memory', 'stderr', 'token', 'compile_output', 'message', 'status'] as const;
const TEXT_FIELDS = new Set(['source_code', 'stdin', 'expected_output', 'stdout', 'stderr', 'compile_output', 'message']);
const utf8 = new TextDecoder('utf-8', { fatal: true });

export class NotUtf8Error extends Error {
  constructor() {
    super('some attributes for this submission cannot be converted to UTF-8, use base64_encoded=true query parameter');
    this.name = 'NotUtf8Error';
  }
}

/**
 * The attributes asked for (`fields`: a comma list, `*` for all, default DEFAULT_FIELDS), text as base64
 * or as UTF-8 text; text that is not UTF-8 cannot be sent as text (NotUtf8Error, as Judge0 answers).
 */
export function pickFields(view: SubmissionView, fields: string | undefined, base64: boolean): Record<string, unknown> {
  const names = !fields ? [...DEFAULT_FIELDS] : fields.trim() === '*' ? Object.keys(view) : fields.split(',').map((f) => f.trim()).filter(Boolean);
  const out: Record<string, unknown> = {};
  for (const name of names) {
    if (!(name in view)) continue;
    const value = view[name as keyof SubmissionView];
    if (!TEXT_FIELDS.has(name) || base64 || value === null) out[name] = value;
    else {
      try {
        out[name] = utf8.decode(Buffer.from(value as string, 'base64'));
      } catch {
        throw new NotUtf8Error();
      }
    }
  }
  return out;
}

/**
 * The attributes asked, or for text that is not UTF-8 the token and Judge0's error: what a create that
 * waited, a batch read and a callback carry in that case.
 */
export function shownOrError(view: SubmissionView, fields: string | undefined, base64: boolean): Record<string, unknown> {
  try {
    return pickFields(view, fields, base64);
  } catch (e) {
    if (!(e instanceof NotUtf8Error)) throw e;
    return { token: view.token, error: e.message };
  }
}
