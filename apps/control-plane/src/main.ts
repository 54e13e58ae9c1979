import 'reflect-metadata';
import './tracing';
import { type Server } from 'node:http';
import { controlPlaneConfigSchema, loadConfig } from '@sandbox/config';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app/app.module';
import { configureHttp } from './app/configure-http';

async function bootstrap(): Promise<void> {
  const config = loadConfig(controlPlaneConfigSchema);
  const app = await NestFactory.create(AppModule.register(config), { bufferLogs: true, bodyParser: false });
  app.useLogger(app.get(Logger));
  configureHttp(app, config);
  // without shutdown hooks SIGTERM skips closing queues and connections (twenty PR #22514)
  app.enableShutdownHooks();
  // a slow or silent client cannot hold a socket forever (slowloris): Node checks these timeouts
  // every connectionsCheckingInterval (30 s by default), set before listening
  const server = app.getHttpServer() as Server & { connectionsCheckingInterval: number };
  server.headersTimeout = config.HTTP_HEADERS_TIMEOUT_MS;
  server.requestTimeout = config.HTTP_REQUEST_TIMEOUT_MS;
  server.connectionsCheckingInterval = 1000;
  await app.listen(config.PORT, config.HOST);
  app.get(Logger).log(`control plane listening on http://${config.HOST}:${config.PORT} (OpenAPI at /docs)`);
}

bootstrap().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
