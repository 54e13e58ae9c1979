import { execFileSync } from 'node:child_process';
import globalSetup from './global-setup';
import { REPO_ROOT } from './lib/stack';

/** The end-to-end suites run the built apps: check the services, then build (incremental, seconds). */
export default async function e2eGlobalSetup(): Promise<void> {
  await globalSetup();
  execFileSync('bash', ['tools/build.sh'], { cwd: REPO_ROOT, stdio: 'inherit' });
}
