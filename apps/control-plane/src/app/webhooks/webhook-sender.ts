import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Webhook } from 'standardwebhooks';
import { type WebhookTarget } from './webhook-target';

/**
 * The Standard Webhooks headers of one message (the same id on every retry, so a receiver can drop a
 * repeat): `webhook-signature` is `v1,` and the base64 HMAC-SHA256 of "<id>.<timestamp>.<body>".
 */
export function signedHeaders(secret: string, messageId: string, body: string, at: Date): Record<string, string> {
  return {
    'webhook-id': messageId,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(messageId, at, body),
  };
}

/**
 * Sends `body` to the target's pinned address (the URL's host still named in Host and SNI), following
 * no redirect; the receiver's status, or a rejection when none came within `timeoutMs`.
 */
export function send(target: WebhookTarget, method: 'POST' | 'PUT', body: string, headers: Record<string, string>, timeoutMs: number): Promise<number> {
  const request = target.url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      target.url,
      {
        method,
        headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'user-agent': 'sandbox-platform-webhooks/1', ...headers },
        // every connection goes to the address that was checked
        lookup: (_host, options, done) =>
          (options as { all?: boolean }).all
            ? (done as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address: target.address, family: target.family }])
            : done(null, target.address, target.family),
        timeout: timeoutMs,
      },
      (res) => {
        // the answer's body is not read: its status says it all
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.on('close', () => clearTimeout(timer));
    req.end(body);
  });
}
