import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';
import { launch } from 'puppeteer-core';
import { freePort, REPO_ROOT, TestPlatform } from '@sandbox/testing';

// the page loads the SDK as a bundler-free app would: an ES module from its own origin
const PAGE = '<!doctype html><title>sdk</title><script type="module">import * as sdk from "/sdk/index.js"; globalThis.sdk = sdk;</script>';

/**
 * The TypeScript SDK in a real browser (headless Chromium), loaded as ES modules by a page on another
 * origin than the API's: the platform lets that origin in (CORS_ORIGINS), and the SDK creates a
 * session, runs code, streams its output and reads the error of a refused call with nothing but
 * fetch and ReadableStream.
 */
describe('TypeScript SDK in a browser', () => {
  let p: TestPlatform;
  let pages: Server;
  let origin: string;

  beforeAll(async () => {
    // the SDK as the browser takes it: ES modules; the page server adds the `.js` its imports leave out
    const out = mkdtempSync(join(tmpdir(), 'sdk-esm-'));
    execFileSync(join(REPO_ROOT, 'node_modules/.bin/tsc'), ['-p', join(REPO_ROOT, 'libs/sdk/tsconfig.lib.json'), '--module', 'es2022', '--declaration', 'false', '--outDir', out]);
    const port = await freePort();
    origin = `http://127.0.0.1:${port}`;
    pages = createServer((req, res) => {
      const path = new URL(req.url ?? '/', origin).pathname;
      if (path === '/') return void res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
      const file = normalize(join(out, path.replace(/^\/sdk\//, '/')));
      const js = file.endsWith('.js') ? file : `${file}.js`;
      if (!js.startsWith(out) || !existsSync(js)) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(readFileSync(js));
    });
    await new Promise<void>((resolve) => pages.listen(port, '127.0.0.1', resolve));
    p = await TestPlatform.start('e2e-sdk-browser', { warmPool: 'python-basic=1', controlPlaneEnv: { CORS_ORIGINS: origin } });
  }, 180_000);

  afterAll(async () => {
    await p?.stop();
    pages?.close();
  });

  it('creates a session, runs and streams code, and reads a typed error, from a page on another origin', async () => {
    const key = (await p.createKey('tenant', 'browser')).secret;
    const browser = await launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    try {
      const page = await browser.newPage();
      await page.goto(origin);
      await page.waitForFunction('globalThis.sdk !== undefined');
      const result = await page.evaluate(
        async (apiKey: string, baseUrl: string) => {
          const { Sandbox, NotFoundError } = (globalThis as any).sdk;
          const sbx = new Sandbox({ apiKey, baseUrl });
          const s = await sbx.sessions.create({ template: 'python-basic' });
          const run = await s.run('print(6*7)');
          const streamed: string[] = [];
          for await (const ev of s.stream('import time\nfor i in range(3):\n    print(i, flush=True)\n    time.sleep(0.2)')) {
            if (ev.type === 'stdout') streamed.push(ev.data.data);
            if (ev.type === 'result') streamed.push(`exit ${ev.data.exit_code}`);
          }
          let missing = '';
          try {
            await sbx.sessions.get('sess_missing');
          } catch (e) {
            missing = e instanceof NotFoundError ? `${(e as { code: string }).code}` : String(e);
          }
          await s.terminate();
          return { stdout: run.stdout, streamed: streamed.join(''), missing };
        },
        key,
        p.url,
      );
      expect(result).toEqual({ stdout: '42\n', streamed: '0\n1\n2\nexit 0', missing: 'not_found' });
    } finally {
      await browser.close();
    }
  });

  it('answers the preflight of an allowed origin only, and lets the page read the headers clients act on', async () => {
    const preflight = (from: string) =>
      fetch(`${p.url}/v1/sessions`, { method: 'OPTIONS', headers: { origin: from, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type,idempotency-key' } });
    const allowed = await preflight(origin);
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(origin);
    expect(allowed.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('idempotency-key');
    expect((await preflight('http://elsewhere.example')).headers.get('access-control-allow-origin')).toBeNull();
    const answer = await p.api('GET', '/v1/templates', undefined, { origin });
    expect(answer.headers.get('access-control-expose-headers')).toContain('Retry-After');
  });
});
