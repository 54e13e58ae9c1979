import { type INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { currentTraceparent } from '@sandbox/telemetry';
import { type NextFunction, type Request, type Response } from 'express';
import { cleanupOpenApiDoc } from 'nestjs-zod';
import { mountQueueBoard } from './admin/queue-board.router';
import { type ControlPlaneConfig } from './control-plane.config';
import { ControlPlaneMetrics } from './metrics/control-plane.metrics';
import { httpMetrics } from './metrics/http-metrics.middleware';
import { useJsonBodies } from './http/body-parsing';

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
  useJsonBodies(app, config.BODY_LIMIT_BYTES);
  const doc = new DocumentBuilder()
    .setTitle('Sandbox platform API')
    .setDescription('Sessions from templates, code executions in hardened containers. Errors are {"error": {"code", "message", "details"}}.')
    .setVersion('1')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'an API key: sbx_…' })
    .build();
  SwaggerModule.setup('docs', app, cleanupOpenApiDoc(SwaggerModule.createDocument(app, doc)), { jsonDocumentUrl: 'docs/openapi.json' });
}
