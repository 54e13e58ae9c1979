import 'reflect-metadata';
import { controlPlaneConfigSchema } from '@sandbox/config';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app/app.module';
import { openApiDocument } from './app/http/openapi';

/**
 * The OpenAPI document as JSON on stdout, without a database or Redis: the app is built in preview
 * mode, where Nest reads the controllers' metadata and instantiates nothing. `npm run openapi` writes
 * it to docs/openapi.json; a unit test fails while that file differs from what the code declares.
 */
export async function renderOpenApi(): Promise<string> {
  const config = controlPlaneConfigSchema.parse({ DATABASE_URL: 'mysql://openapi@127.0.0.1/openapi', REDIS_URL: 'redis://127.0.0.1' });
  const app = await NestFactory.create(AppModule.register(config), { preview: true, logger: false, abortOnError: false });
  try {
    return `${JSON.stringify(openApiDocument(app), null, 2)}\n`;
  } finally {
    await app.close();
  }
}

if (require.main === module) {
  renderOpenApi().then(
    (json) => process.stdout.write(json),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}
