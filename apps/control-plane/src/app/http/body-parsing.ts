import { type INestApplication } from '@nestjs/common';
import { json, type NextFunction, type Request, type Response } from 'express';
import { ApiError } from './api-error';

// file uploads are streamed to the store as they come, whatever their type
const FILE_UPLOAD = /^\/v1\/sessions\/[^/]+\/files\//;
const isFileUpload = (req: Request) => req.method === 'PUT' && FILE_UPLOAD.test(req.path);

/**
 * JSON bodies with a size limit, and the errors of parsing them in the API's shape: malformed JSON
 * 400, too large 413, a body that is not JSON 415 (body-parser errors happen before Nest's filters).
 * File uploads are left alone.
 */
export function useJsonBodies(app: INestApplication, limitBytes: number): void {
  const parseJson = json({ limit: limitBytes, strict: true });
  app.use((req: Request, _res: Response, next: NextFunction) => {
    if (isFileUpload(req)) return next();
    const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
    if (hasBody && req.method !== 'GET' && !req.is('application/json')) {
      return next(new ApiError(415, 'unsupported_media_type', `request bodies must be application/json (got '${req.headers['content-type'] ?? 'none'}')`));
    }
    next();
  });
  app.use((req: Request, res: Response, next: NextFunction) => (isFileUpload(req) ? next() : parseJson(req, res, next)));
  app.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    const type = (err as { type?: string })?.type;
    let error: ApiError | null = err instanceof ApiError ? err : null;
    if (type === 'entity.parse.failed') error = new ApiError(400, 'malformed_json', `the body is not valid JSON: ${(err as Error).message}`);
    if (type === 'entity.too.large') error = new ApiError(413, 'payload_too_large', `the body is larger than ${limitBytes} bytes`);
    if (type === 'encoding.unsupported' || type === 'charset.unsupported') error = new ApiError(415, 'unsupported_media_type', (err as Error).message);
    if (!error) return next(err);
    res.status(error.getStatus()).json(error.getResponse());
  });
}
