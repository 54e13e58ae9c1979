import { isSpanContextValid, trace } from '@opentelemetry/api';
import { type LoggerOptions, stdSerializers, stdTimeFunctions } from 'pino';

/**
 * Paths never written to logs: secrets, env var values, user code and input (STYLE.md: secrets
 * never reach logs, job payloads or logged container options).
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'env_vars',
  '*.env_vars',
  'envVars',
  '*.envVars',
  'env',
  '*.env',
  'Env',
  '*.Env',
  'code',
  '*.code',
  'stdin',
  '*.stdin',
  'args',
  '*.args',
  'password',
  '*.password',
  // a failed query's values, wherever an error was put (the `err` serializer drops them too)
  'parameters',
  '*.parameters',
  'sql',
  '*.sql',
];

/** Fields of database errors (TypeORM QueryFailedError, mysql2) that hold the statement or its values. */
const QUERY_FIELDS = new Set(['query', 'parameters', 'sql', 'sqlMessage']);
/** What is kept of a driver error: the codes say what went wrong, the statement and values stay out. */
const DRIVER_FIELDS = ['code', 'errno', 'sqlState'] as const;
/** MariaDB messages that quote a value of the row: `Duplicate entry '<value>' for key`, `Incorrect string value: '<bytes>'`. */
const QUOTED_VALUE = /(Duplicate entry |value: )'(?:[^'\\]|\\.|'')*'/g;

/**
 * The `err` serializer: pino's, minus anything of a failed query. A write that fails carries its SQL
 * and every parameter (env var values, code, stdin, a MiB of stdout) on the error and its cause chain;
 * none of it may reach a log line.
 */
export function redactError(err: unknown): unknown {
  return scrub(stdSerializers.err(err as Error), 0);
}

function scrub(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return value.replace(QUOTED_VALUE, "$1'[redacted]'");
  if (!value || typeof value !== 'object' || depth > 8) return value;
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (QUERY_FIELDS.has(key)) continue;
    if (key === 'driverError' && v && typeof v === 'object') {
      out[key] = Object.fromEntries(DRIVER_FIELDS.filter((f) => f in v).map((f) => [f, (v as Record<string, unknown>)[f]]));
      continue;
    }
    out[key] = scrub(v instanceof Error ? stdSerializers.err(v) : v, depth + 1);
  }
  return out;
}

/** JSON logs with the service name on every line, ISO timestamps, and the trace of the work logged. */
export function loggerOptions(service: string, level: string): LoggerOptions {
  return {
    level,
    base: { service },
    messageKey: 'msg',
    timestamp: stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    serializers: { err: redactError },
    mixin: () => {
      const span = trace.getActiveSpan()?.spanContext();
      return span && isSpanContextValid(span) ? { trace_id: span.traceId, span_id: span.spanId } : {};
    },
  };
}
