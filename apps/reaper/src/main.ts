import 'reflect-metadata';
import './tracing';
import { loadConfig, reaperConfigSchema } from '@sandbox/config';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { ReaperModule } from './app/reaper.module';

async function bootstrap(): Promise<void> {
  const config = loadConfig(reaperConfigSchema);
  const app = await NestFactory.createApplicationContext(ReaperModule.register(config), { bufferLogs: true });
  app.useLogger(app.get(Logger));
  // without shutdown hooks SIGTERM skips closing the worker mid-tick (twenty PR #22514)
  app.enableShutdownHooks();
  await app.init();
}

bootstrap().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
