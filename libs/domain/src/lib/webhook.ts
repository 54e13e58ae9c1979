import { createHmac } from 'node:crypto';

/**
 * Where an execution's result webhook is: `pending` (the execution has a callback_url and has not
 * ended, or ended and its delivery is not queued yet), `queued` (a delivery job exists), `delivered`
 * (a receiver answered 2xx), `failed` (every attempt failed, or the target is not allowed).
 */
export const WEBHOOK_STATES = ['pending', 'queued', 'delivered', 'failed'] as const;
export type WebhookState = (typeof WEBHOOK_STATES)[number];

/**
 * What a webhook carries: `platform` POSTs {type, timestamp, data: the execution}; `judge0` and
 * `judge0-base64` PUT the submission as Judge0 sends its callbacks (text, or text fields in base64).
 */
export const WEBHOOK_FORMATS = ['platform', 'judge0', 'judge0-base64'] as const;
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];

/** One attempt to deliver an execution's webhook, as its log keeps it. */
export interface WebhookDelivery {
  readonly id: number;
  readonly executionId: string;
  /** 1 for the first try, counting every retry. */
  readonly attempt: number;
  readonly url: string;
  /** The receiver's HTTP status; null when none came (refused, timed out, not allowed). */
  readonly statusCode: number | null;
  readonly error: string | null;
  readonly durationMs: number;
  readonly createdAt: Date;
}

/** A delivery succeeded when the receiver answered 2xx. */
export function deliveredWith(statusCode: number | null): boolean {
  return statusCode !== null && statusCode >= 200 && statusCode < 300;
}

/**
 * Never a webhook's destination unless an operator allows it (WEBHOOK_ALLOWED_NETWORKS): the networks
 * a sandbox with network may not reach either (the egress filter's), IPv6's own, and IPv4 mapped into
 * IPv6 the same as IPv4.
 */
export const BLOCKED_IPV4_RANGES = [
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '224.0.0.0/4',
  '240.0.0.0/4',
] as const;
export const BLOCKED_IPV6_RANGES = ['::/128', '::1/128', 'fc00::/7', 'fe80::/10', 'ff00::/8', '64:ff9b::/96', '2001:db8::/32'] as const;

/** Why a callback URL can never be delivered to (scheme, credentials, length), or null when it may. */
export function callbackUrlProblem(raw: string): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'an absolute URL like "https://example.com/hook"';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'an http or https URL';
  if (url.username || url.password) return 'a URL without credentials (the signature authenticates the platform)';
  if (raw.length > 2048) return 'at most 2048 characters';
  return null;
}

/**
 * A tenant's webhook signing secret, in the Standard Webhooks form (`whsec_` and base64): derived from
 * the platform's WEBHOOK_SECRET, so each tenant verifies with its own and none can sign for another.
 */
export function tenantWebhookSecret(master: string, tenant: string): string {
  return `whsec_${createHmac('sha256', master).update(`webhook-signing:${tenant}`).digest('base64')}`;
}
