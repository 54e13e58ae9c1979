import { type Sandbox, SandboxLostError } from '@sandbox/runtime';
import { startWithRetry } from './session-host.service';

const sandbox = { containerId: 'c1' } as Sandbox;
const engineError = (statusCode: number, message: string) => Object.assign(new Error(message), { statusCode });

describe('startWithRetry', () => {
  it('tries again after a transient engine error and returns the container', async () => {
    const failures = [engineError(500, 'server error'), Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })];
    const retried: number[] = [];
    let calls = 0;
    const got = await startWithRetry(
      async () => {
        calls++;
        const e = failures.shift();
        if (e) throw e;
        return sandbox;
      },
      (_e, attempt) => retried.push(attempt),
    );
    expect(got).toBe(sandbox);
    expect(calls).toBe(3);
    expect(retried).toEqual([1, 2]);
  });

  it('gives up after two retries of a transient error', async () => {
    let calls = 0;
    await expect(
      startWithRetry(async () => {
        calls++;
        throw new SandboxLostError('sandbox executor did not start');
      }),
    ).rejects.toThrow('did not start');
    expect(calls).toBe(3);
  });

  it('does not retry a missing image or a refused spec', async () => {
    for (const e of [engineError(404, 'No such image: sandbox-nope:1'), engineError(400, 'invalid mount config')]) {
      let calls = 0;
      await expect(
        startWithRetry(async () => {
          calls++;
          throw e;
        }),
      ).rejects.toBe(e);
      expect(calls).toBe(1);
    }
  });
});
