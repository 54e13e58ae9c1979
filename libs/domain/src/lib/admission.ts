import { LIMITS } from './limits';
import { formatBytes, parseBytes, parseCpu } from './resources';
import { type SessionResources } from './session';
import { canonicalLanguage, isLanguage, type Language, languagesOf, type Template } from './template';

/**
 * Why a request is refused before anything is stored. The API turns each kind into its status
 * (`too_large` 413, the others 422) and its message.
 */
export type Refusal =
  | { readonly kind: 'too_large'; readonly field: string; readonly limit: number; readonly actual: number }
  | { readonly kind: 'unsupported_language'; readonly language: string; readonly templateId: string; readonly allowed: readonly Language[] }
  | { readonly kind: 'invalid'; readonly field: string; readonly message: string };

export type Admission<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly refusals: readonly Refusal[] };

/** What the platform's settings say where the template is silent. */
export interface ExecutionDefaults {
  readonly timeoutDefaultSeconds: number;
  readonly timeoutMaxSeconds: number;
}

export interface ExecutionAsked {
  readonly code: string;
  readonly stdin?: string | null;
  /** Bytes of the files to write before the run, in all. */
  readonly inputFilesBytes?: number;
  readonly language?: string;
  readonly timeout?: number;
  readonly testCases?: readonly { readonly stdin: string; readonly expected_output?: string | null; readonly timeout?: number | null }[] | null;
}

/** How an admitted execution runs. */
export interface ExecutionSettings {
  readonly language: Language;
  /** Wall-time limit, seconds. */
  readonly timeout: number;
}

const refused = (refusal: Refusal): Admission<never> => ({ ok: false, refusals: [refusal] });

/**
 * The language and wall-time limit of an execution in a session of `template`, or the first reason it
 * cannot run there: code and stdin within LIMITS (MariaDB's strict mode would refuse them later), a
 * language the template's image carries, a timeout within the template's maximum (else the platform's).
 */
export function admitExecution(asked: ExecutionAsked, template: Template, defaults: ExecutionDefaults): Admission<ExecutionSettings> {
  const codeBytes = Buffer.byteLength(asked.code);
  if (codeBytes > LIMITS.codeBytes) return refused({ kind: 'too_large', field: 'code', limit: LIMITS.codeBytes, actual: codeBytes });
  const stdinBytes = asked.stdin == null ? 0 : Buffer.byteLength(asked.stdin);
  if (stdinBytes > LIMITS.stdinBytes) return refused({ kind: 'too_large', field: 'stdin', limit: LIMITS.stdinBytes, actual: stdinBytes });
  const filesBytes = asked.inputFilesBytes ?? 0;
  if (filesBytes > LIMITS.inputFilesBytes) return refused({ kind: 'too_large', field: 'files', limit: LIMITS.inputFilesBytes, actual: filesBytes });
  const allowed = languagesOf(template);
  const language = asked.language === undefined ? template.language : canonicalLanguage(asked.language);
  if (!isLanguage(language) || !allowed.includes(language)) return refused({ kind: 'unsupported_language', language, templateId: template.id, allowed });
  const max = template.limits.timeout_max_seconds ?? defaults.timeoutMaxSeconds;
  if (asked.timeout !== undefined && asked.timeout > max) {
    return refused({ kind: 'invalid', field: 'timeout', message: `at most ${max} seconds in template '${template.id}' (allowed: 1 to ${max})` });
  }
  const timeout = asked.timeout ?? Math.min(template.limits.timeout_default_seconds ?? defaults.timeoutDefaultSeconds, max);
  const cases = asked.testCases;
  if (cases) {
    const bytes = cases.reduce((n, c) => n + Buffer.byteLength(c.stdin) + Buffer.byteLength(c.expected_output ?? ''), 0);
    if (bytes > LIMITS.testCasesBytes) return refused({ kind: 'too_large', field: 'test_cases', limit: LIMITS.testCasesBytes, actual: bytes });
    const over = cases.findIndex((c) => (c.timeout ?? 0) > max);
    if (over >= 0) return refused({ kind: 'invalid', field: `test_cases.${over}.timeout`, message: `at most ${max} seconds in template '${template.id}' (allowed: 1 to ${max})` });
  }
  return { ok: true, value: { language, timeout } };
}

/**
 * The resources a session of `template` gets: what it asks for, within the template's maximums, else
 * the template's defaults. Every field over its maximum is a refusal naming the allowed range.
 */
export function admitResources(template: Template, asked: Partial<SessionResources> | undefined): Admission<SessionResources> {
  const refusals: Refusal[] = [];
  const check = (field: keyof SessionResources, max: string | undefined, parse: (v: string) => number, show: (n: number) => string, min: number) => {
    const value = asked?.[field] ?? undefined;
    if (value === undefined || max === undefined || parse(value) <= parse(max)) return;
    refusals.push({ kind: 'invalid', field: `resources.${field}`, message: `'${value}' is more than template '${template.id}' allows (allowed: ${show(min)} to ${max})` });
  };
  check('cpu', template.limits.max_cpu, parseCpu, (n) => `${n / 1e9}`, 1e7);
  check('memory', template.limits.max_memory, parseBytes, formatBytes, LIMITS.memoryBytes.min);
  check('disk', template.limits.max_disk, parseBytes, formatBytes, LIMITS.diskBytes.min);
  if (refusals.length) return { ok: false, refusals };
  const d = template.defaultResources;
  return { ok: true, value: { cpu: asked?.cpu ?? d.cpu, memory: asked?.memory ?? d.memory, disk: asked?.disk ?? d.disk } };
}
