import { callbackUrlProblem, COMPARE_MODES, EXECUTION_REASONS, EXECUTION_STATUSES, type Execution, type InputFile, isWorkspacePath, LIMITS, OUTPUT_ENCODINGS, VERDICTS, WEBHOOK_STATES } from '@sandbox/domain';
import { createZodDto } from '../http/zod-dto';
import { z } from 'zod';
import { booleanFlag } from '../http/query';
import { envVars, pageQuery } from '../sessions/session.dto';

/** A glob of workspace paths: relative, no '..' or '.' segments (so it can only match inside the workspace). */
const collectPattern = z
  .string()
  .min(1)
  .max(256)
  .refine((p) => isWorkspacePath(p), 'a relative glob like "out/**/*.png": no leading "/", no ".." or "." segments, no backslashes');

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const inputFile = z
  .object({
    path: z
      .string()
      .min(1)
      .max(1024)
      .refine((p) => isWorkspacePath(p) && !p.endsWith('/'), 'a relative file path like "data/in.csv": no leading or trailing "/", no ".." or "." segments, no backslashes'),
    content: z.string().describe("the file's content: text, or base64 of its bytes with encoding base64"),
    encoding: z.enum(OUTPUT_ENCODINGS).optional().describe('utf8 (default) or base64'),
  })
  .strict()
  .refine((f) => f.encoding !== 'base64' || BASE64.test(f.content), { path: ['content'], message: 'with encoding base64, content is standard base64' });

const programArgs = z
  .array(
    z
      .string()
      .refine((v) => !v.includes('\0'), 'arguments cannot contain NUL bytes')
      .refine((v) => Buffer.byteLength(v) <= LIMITS.argBytes, `arguments are at most ${LIMITS.argBytes} bytes each`),
  )
  .max(LIMITS.argCount);

const testCase = z
  .object({
    stdin: z.string().default('').describe('standard input of this case (base64 with encoding base64)'),
    expected_output: z.string().optional().describe('stdout the case must print to be accepted (base64 with encoding base64); without it, exiting 0 is accepted'),
    args: programArgs.optional().describe("argv after the program for this case; default: the execution's args"),
    timeout: z.number().int().min(1).optional().describe("this case's wall-time limit in seconds; default: the execution's timeout"),
  })
  .strict();

export const createExecutionBody = z
  .object({
    code: z.string().min(1, 'code is empty').describe('program text; at most 65 535 bytes (413 above)'),
    language: z.string().max(16).optional().describe("one of the template's languages; default: the template's"),
    stdin: z.string().optional().describe('standard input (base64 of bytes with encoding base64); at most 1 MiB'),
    env: envVars.optional().describe("this execution's environment, over the session's env_vars; values are write-only"),
    args: programArgs
      .optional()
      .describe('argv after the program: sys.argv[1:] in Python, process.argv.slice(2) in JavaScript, $1… in bash'),
    encoding: z
      .enum(OUTPUT_ENCODINGS)
      .optional()
      .describe('base64: stdin is base64 of bytes, and stdout and stderr come back as base64 of what the program wrote, so binary data round-trips exactly (default utf8: invalid UTF-8 output becomes U+FFFD)'),
    timeout: z.number().int().min(1).optional().describe('wall-time limit in seconds'),
    context_id: z
      .string()
      .max(64)
      .optional()
      .describe('run as a cell of this interpreter context (POST /v1/sessions/{id}/contexts): its variables stay for the next cell, and the last expression\'s value is the main result; not with stdin, args or env'),
    files: z
      .array(inputFile)
      .max(LIMITS.inputFileCount)
      .refine((fs) => new Set(fs.map((f) => f.path)).size === fs.length, 'each path at most once')
      .optional()
      .describe(`files written to the workspace before the run (parents made, existing files replaced), kept there after it; at most ${LIMITS.inputFileCount}, ${LIMITS.inputFilesBytes} bytes in all (413 above)`),
    collect: z
      .array(collectPattern)
      .max(20)
      .optional()
      .describe('globs of workspace files to return with the result, e.g. ["out/**/*.png", "report.csv"]'),
    test_cases: z
      .array(testCase)
      .min(1)
      .max(LIMITS.testCaseCount)
      .optional()
      .describe(
        `run the program once per case in the same sandbox (C and C++ compiled once), each with its own input, args and time limit and none of another's files or processes, and judge each: ${VERDICTS.join(', ')}; at most ${LIMITS.testCaseCount} cases, ${LIMITS.testCasesBytes} bytes of stdin and expected output in all (413 above), ${LIMITS.testCasesSeconds} s for them all (the cases past it do not run); the workspace is left as it was. Not with stdin or context_id`,
      ),
    callback_url: z
      .string()
      .superRefine((v, ctx) => {
        const problem = callbackUrlProblem(v);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .optional()
      .describe(
        'POSTed the execution (as GET answers it, in {type: "execution.finished", timestamp, data}) when it ends, signed as Standard Webhooks do (webhook-id, webhook-timestamp, webhook-signature; the secret: GET /v1/webhooks/secret); retried with backoff for about 2 hours until it answers 2xx; never to a private, loopback or link-local address unless the operator allows it. GET /v1/executions/{id}/deliveries lists every attempt',
      ),
    compare: z
      .enum(COMPARE_MODES)
      .optional()
      .describe(`how each case's stdout is held against expected_output: exact (byte for byte), trim (default: whitespace at line ends and blank lines at the end ignored), tokens (whitespace-separated words)`),
  })
  .strict()
  .refine((b) => !b.test_cases || (b.stdin === undefined && b.context_id === undefined), {
    path: ['test_cases'],
    message: 'each test case has its own stdin, and cases do not run in a context: send neither stdin nor context_id with test_cases',
  })
  .refine((b) => b.compare === undefined || b.test_cases !== undefined, { path: ['compare'], message: 'compare is for test_cases' })
  .refine((b) => b.encoding !== 'base64' || (b.test_cases ?? []).every((c) => BASE64.test(c.stdin) && (c.expected_output === undefined || BASE64.test(c.expected_output))), {
    path: ['test_cases'],
    message: 'with encoding base64, every stdin and expected_output is standard base64',
  })
  .refine((b) => b.encoding !== 'base64' || b.stdin === undefined || BASE64.test(b.stdin), { path: ['stdin'], message: 'with encoding base64, stdin is standard base64 (A–Z, a–z, 0–9, +, /, = padding)' });
export class CreateExecutionDto extends createZodDto(createExecutionBody) {}

/** The files to write before the run, their content as base64 whatever the encoding asked. */
export function inputFilesOf(dto: CreateExecutionDto): InputFile[] | null {
  return dto.files?.map((f) => ({ path: f.path, contentBase64: f.encoding === 'base64' ? f.content : Buffer.from(f.content).toString('base64') })) ?? null;
}

const inline = booleanFlag.optional().describe('return collected files up to the inline limit (64 KiB by default) in content_base64');
export const createExecutionQuery = z
  .object({
    wait: booleanFlag.optional().describe('answer when the execution is terminal (or the wait bound passes: then 202)'),
    wait_ms: z.coerce.number().int().min(0).optional().describe('longest wait in milliseconds; implies wait'),
    stream: booleanFlag.optional().describe('answer with the execution\'s events as Server-Sent Events, as GET /v1/executions/{id}/events does'),
    inline,
  })
  .strict()
  .refine((q) => !q.stream || (q.wait === undefined && q.wait_ms === undefined && q.inline === undefined), {
    path: ['stream'],
    message: 'stream answers with events and ends with the result: it takes neither wait, wait_ms nor inline',
  });
export class CreateExecutionQueryDto extends createZodDto(createExecutionQuery) {}

export const getExecutionQuery = z.object({ inline }).strict();

export const executionEventsQuery = z
  .object({
    last_event_id: z
      .string()
      .regex(/^\d{1,20}-\d{1,20}$/, 'the id of an event of this stream, e.g. "1765432100000-0"')
      .optional()
      .describe('resume after this event (the Last-Event-ID header does the same, and wins)'),
  })
  .strict();
export class ExecutionEventsQueryDto extends createZodDto(executionEventsQuery) {}
export class GetExecutionQueryDto extends createZodDto(getExecutionQuery) {}

export const listExecutionsQuery = z.object(pageQuery).strict();
export class ListExecutionsQueryDto extends createZodDto(listExecutionsQuery) {}

const artifact = z.object({ path: z.string(), size: z.number(), mime_type: z.string(), sha256: z.string() });
const collectedFile = artifact.extend({ content_base64: z.string().optional().describe('with inline=true, for small files') });
const skipped = z.object({
  count: z.number(),
  items: z.array(z.object({ path: z.string(), size: z.number().nullable(), reason: z.string() })).describe('the first 100'),
});
const summary = {
  id: z.string(),
  session_id: z.string(),
  language: z.string(),
  status: z.enum(EXECUTION_STATUSES),
  timeout: z.number().describe('wall-time limit, seconds'),
  exit_code: z.number().nullable(),
  execution_time: z.number().nullable().describe('seconds the program ran'),
  error: z.string().nullable(),
  reason: z.enum(EXECUTION_REASONS).nullable().describe(`why it ended, for machines: ${EXECUTION_REASONS.join(', ')}`),
  context_id: z.string().nullable().describe('the interpreter context it ran in as a cell'),
  usage: z
    .object({
      wall_ms: z.number(),
      cpu_ms: z.number(),
      peak_memory_bytes: z.number(),
      stdout_bytes: z.number().describe('written by the program, kept or not'),
      stderr_bytes: z.number(),
      signal: z.string().nullable().describe('the signal it died of'),
    })
    .nullable(),
  stdout_truncated: z.boolean(),
  stderr_truncated: z.boolean(),
  retry_count: z.number().describe('times it was run again after its runtime agent was lost'),
  attempt: z.number().describe('the current attempt, 1 + retry_count'),
  attempts: z
    .array(z.object({ attempt: z.number(), node: z.string().nullable(), started_at: z.string().nullable(), ended_at: z.string(), outcome: z.string() }))
    .describe('every attempt that ended, oldest first; a retried one says agent_lost'),
  runtime_node: z.string().nullable(),
  created_at: z.string(),
  started_at: z.string().nullable(),
  completed_at: z.string().nullable(),
  last_heartbeat_at: z.string().nullable(),
};
export const executionSummary = z.object(summary);
export const executionResponse = z.object({
  ...summary,
  code: z.string(),
  args: z.array(z.string()).nullable(),
  encoding: z.enum(OUTPUT_ENCODINGS).describe('base64: stdin, stdout and stderr are base64 of bytes'),
  stdin: z.string().nullable(),
  stdout: z.string().nullable(),
  stderr: z.string().nullable(),
  files: z.array(z.object({ path: z.string(), size: z.number() })).nullable().describe('the files written before the run'),
  collect: z.array(z.string()).nullable(),
  artifacts: z.array(artifact).nullable().describe('workspace files this execution created or modified; GET /v1/executions/{id}/artifacts/{path}'),
  collected: z.array(collectedFile).nullable().describe('the files matching `collect` after the run'),
  skipped_artifacts: skipped.nullable().describe('workspace files that were not stored, and why'),
  results: z
    .array(
      z.object({
        kind: z.enum(['value', 'display']).describe("value: a cell's last expression; display: display() and figures"),
        data: z.record(z.string(), z.string()).describe('representations by MIME type (text/plain, text/html, image/png as base64, image/svg+xml, application/json, …)'),
        stored: z
          .record(z.string(), z.object({ url: z.string(), size: z.number() }))
          .describe("representations over the template's inline limit (result_inline_bytes, 64 KiB by default), to GET at their url"),
      }),
    )
    .describe('rich results: what the program displayed, the figures it showed or left open, a cell\'s value'),
  results_note: z.string().nullable().describe('why some results were dropped (over results_max_bytes), if any were'),
  context: z
    .object({
      started: z.string().nullable().describe('why a fresh interpreter ran this cell: first cell, restarted as asked, its interpreter had exited'),
      reset: z.string().nullable().describe('why the interpreter is gone after this cell (its variables with it): the next cell starts a fresh one'),
    })
    .nullable(),
  callback_url: z.string().nullable(),
  webhook_state: z.enum(WEBHOOK_STATES).nullable().describe('pending (until it ends and its delivery is queued), queued, delivered (a 2xx answer), failed (given up)'),
  compile_output: z.string().nullable().describe('what the compiler said (C, C++), at most 64 KiB; reason compile_error when it failed'),
  test_results: z
    .object({
      compare: z.enum(COMPARE_MODES),
      summary: z.object({
        passed: z.number(),
        total: z.number(),
        ran: z.number().describe('fewer than total when the execution was cancelled or did not compile'),
        verdicts: z.record(z.enum(VERDICTS), z.number()).describe('cases by verdict'),
      }),
      cases: z.array(
        z.object({
          verdict: z.enum(VERDICTS),
          exit_code: z.number().nullable(),
          signal: z.string().nullable(),
          stdout: z.string().describe('kept up to a share of 4 MiB over all cases, 1 to 64 KiB a stream'),
          stderr: z.string(),
          stdout_truncated: z.boolean(),
          stderr_truncated: z.boolean(),
          wall_ms: z.number(),
          cpu_ms: z.number(),
          peak_memory_bytes: z.number(),
          timeout: z.number().describe('its wall-time limit, seconds'),
          diff: z
            .object({ at: z.enum(['line', 'token']), index: z.number().describe('1-based'), expected: z.string().nullable(), actual: z.string().nullable() })
            .nullable()
            .describe('wrong_answer: the first line (or word, with compare tokens) that differs; null where an output ended'),
        }),
      ),
    })
    .nullable()
    .describe('with test_cases: the verdict on each case, in order, and their summary'),
});
export class ExecutionResponseDto extends createZodDto(executionResponse) {}
export class ExecutionPageDto extends createZodDto(
  z.object({ items: z.array(executionSummary).describe('without code, input and output: GET the execution for those'), next_cursor: z.string().nullable() }),
) {}

export function executionToSummary(e: Execution): z.infer<typeof executionSummary> {
  return {
    id: e.id,
    session_id: e.sessionId,
    language: e.language,
    status: e.status,
    timeout: e.timeout,
    exit_code: e.exitCode,
    execution_time: e.executionTime,
    error: e.error,
    reason: e.reason,
    context_id: e.contextId,
    usage: e.usage ? { ...e.usage } : null,
    stdout_truncated: e.stdoutTruncated,
    stderr_truncated: e.stderrTruncated,
    retry_count: e.retryCount,
    attempt: e.attempt,
    attempts: e.attempts.map((a) => ({ ...a })),
    runtime_node: e.runtimeNode,
    created_at: e.createdAt.toISOString(),
    started_at: e.startedAt?.toISOString() ?? null,
    completed_at: e.completedAt?.toISOString() ?? null,
    last_heartbeat_at: e.lastHeartbeatAt?.toISOString() ?? null,
  };
}

const publicArtifact = ({ path, size, mime_type, sha256 }: z.infer<typeof artifact>) => ({ path, size, mime_type, sha256 });

/** `inline`: contents of collected files by path (base64), for those small enough and unchanged. */
export function executionToResponse(e: Execution, inline?: ReadonlyMap<string, string>): z.infer<typeof executionResponse> {
  return {
    ...executionToSummary(e),
    code: e.code,
    args: e.args ? [...e.args] : null,
    encoding: e.encoding,
    stdin: e.stdin,
    stdout: e.stdout,
    stderr: e.stderr,
    files: e.inputFiles ? e.inputFiles.map((f) => ({ path: f.path, size: Buffer.byteLength(f.contentBase64, 'base64') })) : null,
    collect: e.collect ? [...e.collect] : null,
    artifacts: e.artifacts ? e.artifacts.map(publicArtifact) : null,
    collected: e.collected
      ? e.collected.map((c) => ({ ...publicArtifact(c), ...(inline?.has(c.path) ? { content_base64: inline.get(c.path)! } : {}) }))
      : null,
    skipped_artifacts: e.skippedArtifacts ? { count: e.skippedArtifacts.count, items: [...e.skippedArtifacts.items] } : null,
    results: (e.results?.items ?? []).map((r, index) => ({
      kind: r.kind,
      data: { ...r.data },
      stored: Object.fromEntries(Object.entries(r.stored).map(([mime, s]) => [mime, { url: resultUrl(e.id, index, mime), size: s.size }])),
    })),
    results_note: e.results?.note ?? null,
    context: e.contextState ? { ...e.contextState } : null,
    callback_url: e.callbackUrl,
    webhook_state: e.webhookState,
    compile_output: e.compileOutput,
    test_results: e.testResults
      ? { compare: e.testResults.compare, summary: { ...e.testResults.summary, verdicts: { ...e.testResults.summary.verdicts } }, cases: e.testResults.cases.map((c) => ({ ...c, diff: c.diff ? { ...c.diff } : null })) }
      : null,
  };
}

/** Where a stored representation of a rich result is served. */
export function resultUrl(executionId: string, index: number, mime: string): string {
  return `/v1/executions/${executionId}/results/${index}/${mime}`;
}
