import { isSpanContextValid, trace } from '@opentelemetry/api';
import { type LoggerOptions, stdTimeFunctions } from 'pino';

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
  'password',
  '*.password',
];

/** JSON logs with the service name on every line, ISO timestamps, and the trace of the work logged. */
export function loggerOptions(service: string, level: string): LoggerOptions {
  return {
    level,
    base: { service },
    messageKey: 'msg',
    timestamp: stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    mixin: () => {
      const span = trace.getActiveSpan()?.spanContext();
      return span && isSpanContextValid(span) ? { trace_id: span.traceId, span_id: span.spanId } : {};
    },
  };
}
