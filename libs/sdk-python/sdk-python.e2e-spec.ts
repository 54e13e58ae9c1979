import { join } from 'node:path';
import { pythonTools, runToEnd, TestPlatform } from '@sandbox/testing';

/**
 * The Python SDK (libs/sdk-python) held to the real platform: its pytest suite runs against two
 * platforms started here, one as deployed and one with a tiny rate limit (3 requests per 2 s per key)
 * for the retry-on-429 tests and the node drain.
 */
describe('Python SDK', () => {
  let p: TestPlatform | undefined;
  let limited: TestPlatform | undefined;

  beforeAll(async () => {
    [p, limited] = await Promise.all([
      TestPlatform.start('e2e-sdk-python', { warmPool: 'python-basic=1' }),
      TestPlatform.start('e2e-sdk-py-rl', { warmPool: 'python-basic=0', controlPlaneEnv: { RATE_LIMIT_REQUESTS: '3', RATE_LIMIT_WINDOW_SECONDS: '2' } }),
    ]);
  }, 180_000);

  afterAll(async () => {
    await Promise.all([p?.stop(), limited?.stop()]);
  }, 120_000);

  it('passes its pytest suite against the real platform', async () => {
    const bin = pythonTools();
    const env = {
      ...process.env,
      SANDBOX_URL: p!.url,
      SANDBOX_API_KEY: (await p!.createKey('tenant', 'sdk-python')).secret,
      SANDBOX_ADMIN_KEY: p!.adminKey,
      SANDBOX_RATE_LIMITED_URL: limited!.url,
      SANDBOX_RATE_LIMITED_KEY: (await limited!.createKey('tenant', 'sdk-python')).secret,
      SANDBOX_RATE_LIMITED_ADMIN_KEY: limited!.adminKey,
      PYTHONDONTWRITEBYTECODE: '1',
    };
    const { code, output } = await runToEnd(join(bin, 'python'), ['-m', 'pytest', 'libs/sdk-python/tests', '-q', '-p', 'no:cacheprovider', '-rs', '-W', 'error::RuntimeWarning', '-W', 'error::pytest.PytestUnraisableExceptionWarning'], env);
    if (code !== 0) throw new Error(`pytest exited ${code}:\n${output}`);
    const passed = /(\d+) passed/.exec(output)?.[1];
    // not pytest's own closing line: CI would read it as the count of the whole run
    console.log(`libs/sdk-python: pytest ran ${passed} tests against the platform, every one passed`);
    expect(Number(passed)).toBeGreaterThan(0);
    expect(output).not.toMatch(/skipped|failed|error/i);
  }, 600_000);
});
