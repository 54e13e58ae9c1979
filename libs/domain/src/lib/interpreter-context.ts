import { createHash } from 'node:crypto';
import { type Language, type Template } from './template';
import { sessionPrefix } from './workspace';

/** Languages with a persistent interpreter (a notebook's kernel). */
export const CONTEXT_LANGUAGES = Object.freeze(['python', 'javascript'] as const satisfies readonly Language[]);
export type ContextLanguage = (typeof CONTEXT_LANGUAGES)[number];

/**
 * A persistent interpreter in a session's sandbox: cells (executions with its id) share its variables.
 * It is started by its first cell and bound then to that sandbox (`containerId`); a restart asks for a
 * newer `generation`, which the next cell starts afresh.
 */
export interface InterpreterContext {
  readonly id: string;
  readonly sessionId: string;
  readonly language: ContextLanguage;
  readonly generation: number;
  /** The sandbox its interpreter lives in; null until its first cell. */
  readonly containerId: string | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/**
 * `active`, or `lost`: its interpreter lived in a sandbox the session no longer has (the agent or the
 * container was lost) or the session ended. A lost context is never re-created with its variables
 * missing: its cells fail `context_lost`, and the client creates a new one.
 */
export function contextStatus(context: Pick<InterpreterContext, 'containerId'>, session: { readonly containerId: string | null; readonly live: boolean }): 'active' | 'lost' {
  if (!session.live) return 'lost';
  return context.containerId === null || context.containerId === session.containerId ? 'active' : 'lost';
}

export function isContextLanguage(value: string): value is ContextLanguage {
  return (CONTEXT_LANGUAGES as readonly string[]).includes(value);
}

/** How a cell found its interpreter, and what it left: the executor's words. */
export interface ContextState {
  /** Why a fresh interpreter ran this cell (first cell, restarted as asked, its interpreter had exited), or null. */
  readonly started: string | null;
  /** Why the interpreter is gone after this cell (its variables with it), or null when it lives on. */
  readonly reset: string | null;
}

// ---- rich results -------------------------------------------------------------------------------

/**
 * One rich result of an execution: a cell's last value (`value`) or something it displayed
 * (`display`, figures included), as representations by MIME type. Those larger than the template's
 * inline limit are in the workspace store (`stored`: key and size) and served by URL.
 */
export interface RichResult {
  readonly kind: 'value' | 'display';
  /** Text of each representation kept inline (images as base64). */
  readonly data: Readonly<Record<string, string>>;
  readonly stored: Readonly<Record<string, { readonly key: string; readonly size: number }>>;
}

/** An execution's rich results, and why some were dropped (over the limits), if any were. */
export interface ExecutionResults {
  readonly items: readonly RichResult[];
  readonly note: string | null;
}

/** A result as the executor reports it: every representation inline. */
export interface ReportedResult {
  readonly data: Readonly<Record<string, string>>;
  readonly main: boolean;
}

export interface ResultLimits {
  /** A representation larger than this goes to the store and comes back by URL. */
  readonly inlineBytes: number;
  /** All results of one execution; past it the rest are dropped (and the result says so). */
  readonly maxBytes: number;
}

export const DEFAULT_RESULT_LIMITS: ResultLimits = Object.freeze({ inlineBytes: 64 << 10, maxBytes: 16 << 20 });

export function resultLimitsOf(template: Pick<Template, 'limits'>): ResultLimits {
  return {
    inlineBytes: template.limits.result_inline_bytes ?? DEFAULT_RESULT_LIMITS.inlineBytes,
    maxBytes: template.limits.results_max_bytes ?? DEFAULT_RESULT_LIMITS.maxBytes,
  };
}

// images and other binary representations are base64 in JSON; stored, they are their bytes
const BINARY_MIME = /^(image\/(?!svg)|application\/(?!json)|audio\/|video\/)/;

/** The bytes a representation stands for (binary ones are base64 in JSON). */
export function representationBytes(mime: string, text: string): Buffer {
  return BINARY_MIME.test(mime) ? Buffer.from(text, 'base64') : Buffer.from(text, 'utf8');
}

/** The store key of a representation too large to keep inline; under the session, so it goes with it. */
export function resultObjectKey(sessionId: string, writer: string, index: number, mime: string): string {
  return `${sessionPrefix(sessionId)}results/${writer}/${index}/${createHash('sha256').update(mime).digest('hex').slice(0, 16)}`;
}

export interface PlannedResults {
  readonly results: RichResult[];
  /** Representations to put in the store before the results are recorded. */
  readonly uploads: { readonly key: string; readonly mime: string; readonly body: Buffer }[];
  /** Why some results were dropped, or null. */
  readonly note: string | null;
}

/**
 * Which representations stay inline and which go to the store (`keyOf` names them), within the
 * execution's byte budget: results past it are dropped whole, and the note says how many.
 */
export function planResults(reported: readonly ReportedResult[], limits: ResultLimits, keyOf: (index: number, mime: string) => string): PlannedResults {
  const results: RichResult[] = [];
  const uploads: { key: string; mime: string; body: Buffer }[] = [];
  let budget = limits.maxBytes;
  let dropped = 0;
  for (const r of reported) {
    const size = Object.entries(r.data).reduce((n, [mime, text]) => n + Buffer.byteLength(mime) + Buffer.byteLength(text), 0);
    if (size > budget) {
      dropped++;
      continue;
    }
    budget -= size;
    const index = results.length;
    const data: Record<string, string> = {};
    const stored: Record<string, { key: string; size: number }> = {};
    for (const [mime, text] of Object.entries(r.data)) {
      if (Buffer.byteLength(text) <= limits.inlineBytes) {
        data[mime] = text;
        continue;
      }
      const body = representationBytes(mime, text);
      const key = keyOf(index, mime);
      stored[mime] = { key, size: body.length };
      uploads.push({ key, mime, body });
    }
    results.push({ kind: r.main ? 'value' : 'display', data, stored });
  }
  return { results, uploads, note: dropped ? `${dropped} result(s) over the limit of ${limits.maxBytes} bytes for all results were dropped` : null };
}
