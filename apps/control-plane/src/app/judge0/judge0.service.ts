import { Inject, Injectable } from '@nestjs/common';
import { type Execution, type Language, type Principal, runtimesOf, type Template, type WebhookFormat } from '@sandbox/domain';
import { TemplateRepository } from '@sandbox/persistence';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { type ZodError } from 'zod';
import { CONTROL_PLANE_CONFIG, type ControlPlaneConfig } from '../control-plane.config';
import { type CreateExecutionDto, createExecutionBody } from '../executions/execution.dto';
import { ExecutionWaiterService } from '../executions/execution-waiter.service';
import { ExecutionsService } from '../executions/executions.service';
import { ApiError } from '../http/api-error';
import { zodDetails } from '../http/api-exception.filter';
import { type CreateSessionDto } from '../sessions/session.dto';
import { SessionsService } from '../sessions/sessions.service';
import { judge0Submission } from './judge0.dto';
import { judge0Languages, type Judge0Language, languageOfId, parseToken, templateFor, tokenOf } from './judge0-submission';

/** Sessions one tenant's submissions of one template share (each runs one execution at a time). */
const LANES = 4;
/** A lane nobody submitted to for this long ends (the reaper's idle expiry), and a new one is made. */
const LANE_IDLE_SECONDS = 600;
const DEFAULT_SECONDS = 5;

/** A submission checked and in this platform's terms: text as it runs (code) or as base64 (input, expected). */
interface Prepared {
  readonly template: Template;
  readonly language: Language;
  readonly code: string;
  readonly stdin: string;
  readonly expected: string | null;
  readonly args: string[];
  readonly timeout: number;
  readonly callbackUrl: string | null;
  readonly webhookFormat: WebhookFormat;
}

type Checked = { readonly ok: true; readonly run: Prepared } | { readonly ok: false; readonly errors: Record<string, string[]> };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Judge0 CE submissions on this platform. Each submission is a test case of an execution in one of
 * the tenant's lane sessions of the language's template: the executor runs every case isolated from
 * the others (processes killed, files put back), so submissions sharing a session share nothing. A
 * batch's submissions of one program (same code, language, arguments, limit, no callback) are one
 * execution: compiled once, run once per input.
 */
@Injectable()
export class Judge0Service {
  /** Lane sessions by tenant and template, in this process (they expire when idle). */
  private readonly lanes = new Map<string, Promise<string>[]>();
  private turn = 0;

  constructor(
    @Inject(CONTROL_PLANE_CONFIG) private readonly config: ControlPlaneConfig,
    private readonly templates: TemplateRepository,
    private readonly sessions: SessionsService,
    private readonly executions: ExecutionsService,
    private readonly waiter: ExecutionWaiterService,
    @InjectPinoLogger(Judge0Service.name) private readonly log: PinoLogger,
  ) {}

  async languages(): Promise<Judge0Language[]> {
    return judge0Languages(await this.templates.findAll(), runtimesOf);
  }

  /** Runs what is valid; answers, in order, a token or the errors by attribute of each submission. */
  async submit(raw: readonly unknown[], base64: boolean, who: Principal): Promise<({ token: string } | Record<string, string[]>)[]> {
    const templates = await this.templates.findAll();
    const checked = raw.map((r) => this.check(r, base64, templates));
    const groups = new Map<string, number[]>();
    checked.forEach((c, i) => {
      if (!c.ok) return;
      const r = c.run;
      const key = r.callbackUrl ? `alone:${i}` : JSON.stringify([r.template.id, r.language, r.code, r.args, r.timeout]);
      groups.set(key, [...(groups.get(key) ?? []), i]);
    });
    const answers: ({ token: string } | Record<string, string[]>)[] = checked.map((c) => (c.ok ? {} : c.errors));
    for (const indexes of groups.values()) {
      const runs = indexes.map((i) => (checked[i] as { run: Prepared }).run);
      const execution = await this.run(runs, who);
      indexes.forEach((i, k) => (answers[i] = { token: tokenOf(execution.id, k) }));
    }
    return answers;
  }

  /** The execution and case a token names, if the caller may see it; 404 otherwise. */
  async find(token: string, who: Principal): Promise<{ execution: Execution; index: number }> {
    const at = parseToken(token);
    const execution = at && (await this.executions.get(at.executionId, who).catch(() => null));
    if (!at || !execution || at.index >= (execution.testCases?.length ?? 0)) throw new ApiError(404, 'not_found', `submission '${token}' does not exist`);
    return { execution, index: at.index };
  }

  /** The execution once it ended, or as it is when the wait bound passes. */
  waitFor(execution: Execution): Promise<Execution> {
    return this.waiter.waitForTerminal(execution, this.executions.waitBudgetMs(execution));
  }

  private check(raw: unknown, base64: boolean, templates: readonly Template[]): Checked {
    const parsed = judge0Submission.safeParse(raw);
    if (!parsed.success) return { ok: false, errors: byAttribute(parsed.error) };
    const s = parsed.data;
    const errors: Record<string, string[]> = {};
    const language = languageOfId(s.language_id);
    const template = language && templateFor(language, templates, runtimesOf);
    if (!language || !template) errors['language_id'] = [`language with id ${s.language_id} doesn't exist`];
    if (s.compiler_options) errors['compiler_options'] = ['is not supported: programs are compiled with the flags GET /languages/{id} shows'];
    const max = template?.limits.timeout_max_seconds ?? this.config.EXECUTION_TIMEOUT_MAX_SECONDS;
    for (const knob of ['cpu_time_limit', 'wall_time_limit'] as const) {
      if ((s[knob] ?? 0) > max) errors[knob] = [`must be less than or equal to ${max}`];
    }
    // one wall-time limit per case here: the CPU limit when given (Judge0's main limit), else the wall one
    const limit = s.cpu_time_limit ?? s.wall_time_limit ?? DEFAULT_SECONDS;
    let code = s.source_code;
    if (base64) {
      try {
        code = utf8.decode(Buffer.from(s.source_code, 'base64'));
      } catch {
        errors['source_code'] = ['must be base64 of UTF-8 text'];
      }
    }
    if (Object.keys(errors).length || !language || !template) return { ok: false, errors };
    const asBase64 = (text: string) => (base64 ? text : Buffer.from(text).toString('base64'));
    return {
      ok: true,
      run: {
        template,
        language,
        code,
        stdin: asBase64(s.stdin ?? ''),
        expected: s.expected_output == null ? null : asBase64(s.expected_output),
        args: (s.command_line_arguments ?? '').split(/\s+/).filter(Boolean),
        timeout: Math.max(1, Math.ceil(limit)),
        callbackUrl: s.callback_url ?? null,
        webhookFormat: base64 ? 'judge0-base64' : 'judge0',
      },
    };
  }

  /** One execution of a program with a test case per submission, in a lane session of its template. */
  private async run(runs: readonly Prepared[], who: Principal): Promise<Execution> {
    const [first] = runs as [Prepared];
    const body = createExecutionBody.safeParse({
      code: first.code,
      language: first.language,
      encoding: 'base64',
      timeout: first.timeout,
      ...(first.args.length ? { args: first.args } : {}),
      ...(first.callbackUrl ? { callback_url: first.callbackUrl } : {}),
      compare: 'trim',
      test_cases: runs.map((r) => ({ stdin: r.stdin, ...(r.expected === null ? {} : { expected_output: r.expected }) })),
    });
    if (!body.success) throw ApiError.validation(zodDetails(body.error));
    const dto = body.data as CreateExecutionDto;
    for (let tries = 0; ; tries++) {
      const lane = this.lane(first.template.id, who);
      try {
        return (await this.executions.create(await lane, dto, who, null, { webhookFormat: first.webhookFormat })).execution;
      } catch (e) {
        // the lane ended (idle, or by its owner): another is made in its place
        if (tries > 0 || !(e instanceof ApiError) || (e.code !== 'session_ended' && e.code !== 'not_found')) throw e;
        this.dropLane(first.template.id, who, lane);
        this.log.info({ template_id: first.template.id, tenant: who.tenant }, 'judge0 lane ended: making another');
      }
    }
  }

  private lane(templateId: string, who: Principal): Promise<string> {
    const key = `${who.tenant}/${templateId}`;
    const lanes = this.lanes.get(key) ?? [];
    this.lanes.set(key, lanes);
    if (lanes.length < LANES) {
      const made = this.sessions.create({ template_id: templateId, timeout: LANE_IDLE_SECONDS } as CreateSessionDto, who, null).then((r) => r.session.id);
      lanes.push(made);
      // a lane that could not be made is not kept
      made.catch(() => this.dropLane(templateId, who, made));
      return made;
    }
    return lanes[this.turn++ % lanes.length]!;
  }

  private dropLane(templateId: string, who: Principal, lane: Promise<string>): void {
    const lanes = this.lanes.get(`${who.tenant}/${templateId}`);
    if (lanes?.includes(lane)) lanes.splice(lanes.indexOf(lane), 1);
  }
}

/** Zod's complaints as Judge0 words them: messages by attribute. */
function byAttribute(error: ZodError): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const d of zodDetails(error)) {
    const field = d.field?.split('.')[0] ?? 'base';
    out[field] = [...(out[field] ?? []), d.message];
  }
  return out;
}
