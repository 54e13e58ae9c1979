/**
 * Polls `probe` until it returns a value other than null/undefined/false, or fails after `ms` with what
 * it waited for and the probe's last error. Tests wait on conditions, never on fixed sleeps.
 */
export async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, ms = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== null && v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
