import 'reflect-metadata';
import './tracing';
import { agentConfigSchema, loadConfig } from '@sandbox/config';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { AgentModule } from './app/agent.module';
import { NodeGuardService } from './app/lifecycle/node-guard.service';

async function bootstrap(): Promise<void> {
  const config = loadConfig(agentConfigSchema);
  const app = await NestFactory.createApplicationContext(AgentModule.register(config), { bufferLogs: true });
  app.useLogger(app.get(Logger));
  // without shutdown hooks SIGTERM skips the drain (twenty PR #22514)
  app.enableShutdownHooks();
  // an operator's drain ends the agent once its sessions moved away: a clean exit, not a crash
  app.get(NodeGuardService).onDrained(() => void app.close().then(() => process.exit(0)));
  await app.init();
}

bootstrap().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
