import { Catch } from '@nestjs/common';
import { type ApiError } from '../http/api-error';
import { ApiExceptionFilter } from '../http/api-exception.filter';

/**
 * Errors of the Judge0 routes in Judge0's shapes: a refused request is 422 with the messages by
 * attribute ({"language_id": ["can't be blank"]}), anything else {"error": "..."} with its status.
 */
@Catch()
export class Judge0ExceptionFilter extends ApiExceptionFilter {
  protected override body(error: ApiError): unknown {
    const details = error.details.filter((d) => d.field);
    if (error.getStatus() === 422 && details.length) {
      return details.reduce<Record<string, string[]>>((by, d) => ({ ...by, [d.field!]: [...(by[d.field!] ?? []), d.message] }), {});
    }
    return { error: (error.getResponse() as { error: { message: string } }).error.message };
  }
}
