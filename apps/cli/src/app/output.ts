import { SandboxApiError, SandboxConnectionError, SessionStartError } from '@sandbox/sdk';

/** Exit codes: the program's own for run/exec; these for the CLI's failures. */
export const EXIT = { ok: 0, apiError: 1, usage: 2 } as const;

/** A mistake in how the command was called (or configured): exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface Output {
  readonly json: boolean;
  out(text: string): void;
  err(text: string): void;
}

export const stdio = (json: boolean): Output => ({
  json,
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
});

/** `value` as JSON in --json mode, else `human()` (lines). */
export function print(o: Output, value: unknown, human: () => string): void {
  o.out(o.json ? `${JSON.stringify(value, null, 2)}\n` : `${human()}\n`);
}

/** Aligned columns under a header; `-` for empty cells. */
export function table(header: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const cells = [header, ...rows.map((r) => r.map((c) => (c === null || c === undefined || c === '' ? '-' : String(c))))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}

/** Says what went wrong on stderr (JSON with --json) and gives the exit code. */
export function reportError(o: Output, e: unknown): number {
  if (e instanceof UsageError) {
    o.err(o.json ? `${JSON.stringify({ error: { code: 'usage', message: e.message } })}\n` : `sandbox: ${e.message}\n`);
    return EXIT.usage;
  }
  if (e instanceof SandboxApiError) {
    const fields = e.details.map((d) => (d.field ? `${d.field}: ${d.message}` : d.message));
    o.err(
      o.json
        ? `${JSON.stringify({ error: { status: e.status, code: e.code, message: e.message, details: e.details, traceparent: e.traceparent } })}\n`
        : `sandbox: ${e.message} [${e.code}, HTTP ${e.status}]\n${fields.length && !e.message.includes(fields[0]!) ? fields.map((f) => `  ${f}\n`).join('') : ''}`,
    );
    return EXIT.apiError;
  }
  const code = e instanceof SessionStartError ? 'session_not_started' : e instanceof SandboxConnectionError ? 'connection_failed' : 'error';
  const message = e instanceof Error ? e.message : String(e);
  o.err(o.json ? `${JSON.stringify({ error: { code, message } })}\n` : `sandbox: ${message}\n`);
  return EXIT.apiError;
}
