import { type INestApplication } from '@nestjs/common';
import { SwaggerModule } from '@nestjs/swagger';
import { currentTraceparent } from '@sandbox/telemetry';
import { type NextFunction, type Request, type Response } from 'express';
import { mountQueueBoard } from './admin/queue-board.router';
import { type ControlPlaneConfig } from './control-plane.config';
import { ControlPlaneMetrics } from './metrics/control-plane.metrics';
import { httpMetrics } from './metrics/http-metrics.middleware';
import { useJsonBodies } from './http/body-parsing';
import { methodNotAllowed } from './http/method-not-allowed';
import { openApiDocument } from './http/openapi';

/** What a page may send, and read of the answers: the headers the API and its SDK use. */
const CORS_REQUEST_HEADERS = ['Authorization', 'Content-Type', 'Idempotency-Key', 'Last-Event-ID', 'X-Auth-Token'];
const CORS_EXPOSED_HEADERS = ['Retry-After', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset', 'Idempotent-Replayed', 'traceparent', 'Location', 'Content-Disposition'];

/** Body parsing, OpenAPI at /docs: shared by main.ts and the tests that boot the app. */
export function configureHttp(app: INestApplication, config: ControlPlaneConfig): void {
  app.use(httpMetrics(app.get(ControlPlaneMetrics)));
  // the client can find its request's trace: the trace id of every span the request caused
  app.use((_req: Request, res: Response, next: NextFunction) => {
    const traceparent = currentTraceparent();
    if (traceparent) res.setHeader('traceparent', traceparent);
    next();
  });
  mountQueueBoard(app);
  const doc = openApiDocument(app);
  // before the 405s: a preflight (OPTIONS) from an allowed origin is answered here
  if (config.CORS_ORIGINS.length) app.enableCors({ origin: config.CORS_ORIGINS, allowedHeaders: CORS_REQUEST_HEADERS, exposedHeaders: CORS_EXPOSED_HEADERS, maxAge: 600 });
  app.use(methodNotAllowed(doc));
  useJsonBodies(app, config.BODY_LIMIT_BYTES);
  SwaggerModule.setup('docs', app, doc, { jsonDocumentUrl: 'docs/openapi.json' });
}
