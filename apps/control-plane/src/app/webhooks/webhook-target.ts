import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { BLOCKED_IPV4_RANGES, BLOCKED_IPV6_RANGES } from '@sandbox/domain';

/** Where a webhook goes: the URL, and the one address it is sent to (resolved once, checked, pinned). */
export interface WebhookTarget {
  readonly url: URL;
  readonly address: string;
  readonly family: 4 | 6;
}

/** The target is one a webhook may never go to: no retry will change that. */
export class WebhookTargetRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookTargetRefused';
  }
}

const cidrs = (list: readonly string[], family: 'ipv4' | 'ipv6', into = new BlockList()) => {
  for (const cidr of list) {
    const [net, bits] = cidr.split('/') as [string, string];
    into.addSubnet(net, Number(bits), family);
  }
  return into;
};
const BLOCKED = cidrs(BLOCKED_IPV6_RANGES, 'ipv6', cidrs(BLOCKED_IPV4_RANGES, 'ipv4'));

/** The operator's allow-list (WEBHOOK_ALLOWED_NETWORKS), as a BlockList to check addresses against. */
export function allowedNetworks(list: readonly string[]): BlockList {
  const allowed = new BlockList();
  for (const cidr of list) cidrs([cidr], cidr.includes(':') ? 'ipv6' : 'ipv4', allowed);
  return allowed;
}

/** Why a webhook may not go to `address`, or null when it may: the egress rules of sandboxes, less what the operator allows. */
export function addressRefusal(address: string, allowed: BlockList): string | null {
  const family: 'ipv4' | 'ipv6' = isIP(address) === 6 ? 'ipv6' : 'ipv4';
  // an IPv4 address mapped into IPv6 is judged as itself
  const mapped = family === 'ipv6' ? /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1] : undefined;
  const ip = mapped ?? address;
  const kind = mapped ? 'ipv4' : family;
  if (!BLOCKED.check(ip, kind) || allowed.check(ip, kind)) return null;
  return `${address} is a private, loopback, link-local or reserved address, which webhooks may not reach unless the operator allows it (WEBHOOK_ALLOWED_NETWORKS)`;
}

/**
 * Resolves the URL's host once and picks an address a webhook may go to; the request then connects to
 * that address only, so a DNS answer that changes between the check and the connection (rebinding)
 * reaches nothing else. Refused when every address is barred.
 */
export async function webhookTarget(raw: string, allowed: BlockList): Promise<WebhookTarget> {
  const url = new URL(raw);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const found = isIP(host) ? [{ address: host, family: isIP(host) }] : await lookup(host, { all: true, verbatim: true });
  const refusals: string[] = [];
  for (const a of found) {
    const refusal = addressRefusal(a.address, allowed);
    if (!refusal) return { url, address: a.address, family: a.family === 6 ? 6 : 4 };
    refusals.push(refusal);
  }
  throw new WebhookTargetRefused(refusals[0] ?? `${host} has no address`);
}
