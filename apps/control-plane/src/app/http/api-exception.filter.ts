import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException } from '@nestjs/common';
import { type Response } from 'express';
import { LockBusyError } from '@sandbox/persistence';
import { ZodValidationException } from 'nestjs-zod';
import { PinoLogger } from 'nestjs-pino';
import { type ZodError } from 'zod';
import { ApiError, type ErrorDetail } from './api-error';

const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'PROTOCOL_CONNECTION_LOST',
  'ER_CON_COUNT_ERROR',
  'ER_LOCK_WAIT_TIMEOUT',
  // a statement past DB_QUERY_TIMEOUT_MS: the server is hung or cut off
  'PROTOCOL_SEQUENCE_TIMEOUT',
]);

export function zodDetails(error: ZodError): ErrorDetail[] {
  return error.issues.flatMap((i): ErrorDetail[] => {
    const at = i.path.map(String);
    if (i.code === 'unrecognized_keys') return i.keys.map((k) => ({ field: [...at, k].join('.'), message: 'unknown field' }));
    return [at.length ? { field: at.join('.'), message: i.message } : { message: i.message }];
  });
}

/** Maps anything thrown into the API's error shape; a bug is a 500, never a crash or a stack trace. */
export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  if (e instanceof ZodValidationException) return ApiError.validation(zodDetails(e.getZodError() as ZodError));
  if (e instanceof HttpException) {
    const status = e.getStatus();
    const body = e.getResponse();
    const message = typeof body === 'string' ? body : ((body as { message?: unknown }).message ?? e.message);
    return new ApiError(status, status === 404 ? 'not_found' : `http_${status}`, Array.isArray(message) ? message.join('; ') : String(message));
  }
  if (e instanceof LockBusyError) return ApiError.unavailable('busy', 'too many requests on this session or tenant at once; retry shortly', 1);
  const code = (e as { code?: string; driverError?: { code?: string } })?.driverError?.code ?? (e as { code?: string })?.code;
  if (code && UNAVAILABLE_CODES.has(code)) return ApiError.unavailable('database_unavailable', 'the database is not reachable; retry shortly');
  return new ApiError(500, 'internal', 'internal error: the request could not be completed');
}

@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  constructor(private readonly log: PinoLogger) {
    log.setContext(new.target.name);
  }

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const error = toApiError(exception);
    if (error.getStatus() >= 500) this.log.error({ err: exception, code: error.code }, 'request failed');
    if (res.headersSent) return;
    res.status(error.getStatus()).set(error.headers).json(this.body(error));
  }

  /** The answer's body: the API's error shape (a subclass answers in another API's). */
  protected body(error: ApiError): unknown {
    return error.getResponse();
  }
}
