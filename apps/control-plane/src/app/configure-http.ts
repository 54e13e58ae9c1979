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
  app.use(methodNotAllowed(doc));
  useJsonBodies(app, config.BODY_LIMIT_BYTES);
  SwaggerModule.setup('docs', app, doc, { jsonDocumentUrl: 'docs/openapi.json' });
}
