import { type ArgumentsHost, Catch, type ExceptionFilter } from '@nestjs/common';
import { type Response } from 'express';
import { PinoLogger } from 'nestjs-pino';
import { toApiError } from '../http/api-exception.filter';

/**
 * Errors of the Judge0 routes in Judge0's shapes: a refused request is 422 with the messages by
 * attribute ({"language_id": ["can't be blank"]}), anything else {"error": "..."} with its status.
 */
@Catch()
export class Judge0ExceptionFilter implements ExceptionFilter {
  constructor(private readonly log: PinoLogger) {
    log.setContext(Judge0ExceptionFilter.name);
  }

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const error = toApiError(exception);
    if (error.getStatus() >= 500) this.log.error({ err: exception, code: error.code }, 'judge0 request failed');
    if (res.headersSent) return;
    const details = error.details.filter((d) => d.field);
    const body =
      error.getStatus() === 422 && details.length
        ? details.reduce<Record<string, string[]>>((by, d) => ({ ...by, [d.field!]: [...(by[d.field!] ?? []), d.message] }), {})
        : { error: (error.getResponse() as { error: { message: string } }).error.message };
    res.status(error.getStatus()).set(error.headers).json(body);
  }
}
