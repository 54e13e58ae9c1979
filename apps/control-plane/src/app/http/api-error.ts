import { HttpException } from '@nestjs/common';
import { type Refusal } from '@sandbox/domain';

export interface ErrorDetail {
  readonly field?: string;
  readonly message: string;
  readonly [key: string]: unknown;
}

/**
 * Every error the API answers, as `{"error": {"code", "message", "details"}}` with the right status.
 * `code` is stable and machine-readable; `message` says what to fix.
 */
export class ApiError extends HttpException {
  constructor(
    status: number,
    readonly code: string,
    message: string,
    readonly details: readonly ErrorDetail[] = [],
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super({ error: { code, message, details } }, status);
  }

  static notFound(what: string, id: string): ApiError {
    return new ApiError(404, 'not_found', `${what} '${id}' does not exist`);
  }

  /** 401 with the challenge RFC 6750 asks for. */
  static unauthorized(code: string, message: string): ApiError {
    return new ApiError(401, code, message, [], { 'WWW-Authenticate': 'Bearer realm="sandbox"' });
  }

  static validation(details: readonly ErrorDetail[]): ApiError {
    const fields = details.map((d) => (d.field ? `${d.field}: ${d.message}` : d.message));
    return new ApiError(422, 'validation_failed', `invalid request: ${fields.join('; ')}`, details);
  }

  /** The answer to what the domain refused: 413 for sizes, else 422 saying what is allowed. */
  static refused(refusals: readonly Refusal[]): ApiError {
    const [first] = refusals;
    if (first?.kind === 'too_large') {
      return new ApiError(413, 'payload_too_large', `${first.field} is ${first.actual} bytes; the limit is ${first.limit}`, [
        { field: first.field, message: `at most ${first.limit} bytes`, limit: first.limit, actual: first.actual },
      ]);
    }
    if (first?.kind === 'unsupported_language') {
      const allowed = first.allowed.join(', ');
      return new ApiError(422, 'unsupported_language', `language '${first.language}' is not available in template '${first.templateId}'; use one of: ${allowed}`, [
        { field: 'language', message: `one of ${allowed}` },
      ]);
    }
    return ApiError.validation(refusals.flatMap((r) => (r.kind === 'invalid' ? [{ field: r.field, message: r.message }] : [])));
  }

  static unavailable(code: string, message: string, retryAfterSeconds = 5): ApiError {
    return new ApiError(503, code, message, [], { 'Retry-After': String(retryAfterSeconds) });
  }
}
