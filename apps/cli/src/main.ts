import { readFileSync } from 'node:fs';
import { runCli } from './app/cli';

// the CLI's settings are its user's environment (SANDBOX_URL, SANDBOX_API_KEY, SANDBOX_CONFIG): no service config to validate
// eslint-disable-next-line no-restricted-properties
const env = process.env;

runCli(process.argv.slice(2), { env, readStdin: () => readFileSync(0, 'utf8') }).then(
  (code) => {
    // exitCode, not exit(): what is still buffered for stdout is written first
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`sandbox: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  },
);
