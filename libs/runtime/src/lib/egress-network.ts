import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { promisify } from 'node:util';
import { BLOCKED_IPV4_RANGES } from '@sandbox/domain';
import type Docker from 'dockerode';
import { LABELS } from './container-runtime';

const run = promisify(execFile);

/** The Docker network of sandboxes whose template allows outbound network. */
export const EGRESS_NETWORK = 'sandbox-egress';
/** Its bridge interface, named so the filter can match it. */
export const EGRESS_BRIDGE = 'sbx-egress';

/** Never reachable from a sandbox: private, shared, loopback, link-local (cloud metadata) and special ranges (webhooks obey them too). */
export const BLOCKED_RANGES = BLOCKED_IPV4_RANGES;

/** The IPv4 networks this host is attached to (its neighbours are not the internet either). */
export function hostNetworks(): string[] {
  const nets = new Set<string>();
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) {
      if (a.family === 'IPv4' && !a.internal && a.cidr) nets.add(networkOf(a.cidr));
    }
  }
  return [...nets].sort();
}

function networkOf(cidr: string): string {
  const [ip, bits] = cidr.split('/') as [string, string];
  const n = Number(bits);
  const value = ip.split('.').reduce((v, octet) => (v << 8) + Number(octet), 0) >>> 0;
  const masked = n === 0 ? 0 : (value & (~0 << (32 - n))) >>> 0;
  return `${[24, 16, 8, 0].map((s) => (masked >>> s) & 255).join('.')}/${n}`;
}

/**
 * The DNS servers Docker's embedded resolver forwards to: it sends those queries from the container's
 * own namespace, so they cross the filter and need their one exception (port 53, these addresses).
 */
export function hostResolvers(): string[] {
  // behind systemd-resolved, Docker reads the upstream servers, not the 127.0.0.53 stub
  const file = ['/run/systemd/resolve/resolv.conf', '/etc/resolv.conf'].find((f) => existsSync(f));
  const text = file ? readFileSync(file, 'utf8') : '';
  return [...text.matchAll(/^nameserver\s+(\d+\.\d+\.\d+\.\d+)\s*$/gm)].map((m) => m[1]!).filter((ip) => !ip.startsWith('127.'));
}

export type FilterRule = [chain: string, ...rule: string[]];

/**
 * The filter rules, as iptables arguments after the chain: `drops` (checked with -C, inserted with
 * -I), and `accepts`, the DNS exceptions, which must stay above every drop.
 */
export function egressRules(extraBlocked: readonly string[], resolvers: readonly string[]): { drops: FilterRule[]; accepts: FilterRule[] } {
  return {
    drops: [
      // nothing of the host itself, on any of its addresses
      ['INPUT', '-i', EGRESS_BRIDGE, '-j', 'DROP'],
      ...[...BLOCKED_RANGES, ...extraBlocked].map((cidr): FilterRule => ['DOCKER-USER', '-i', EGRESS_BRIDGE, '-d', cidr, '-j', 'DROP']),
    ],
    accepts: resolvers.flatMap((ip) =>
      ['udp', 'tcp'].map((proto): FilterRule => ['DOCKER-USER', '-i', EGRESS_BRIDGE, '-d', `${ip}/32`, '-p', proto, '--dport', '53', '-j', 'ACCEPT']),
    ),
  };
}

/**
 * Makes the egress network ready: a bridge with no traffic between its containers, and a host filter
 * that lets its sandboxes reach the internet only (not the host, its networks, private ranges or the
 * metadata address). Idempotent; rejects when the filter cannot be installed, so that no sandbox ever
 * gets a network without it.
 */
export async function ensureEgressNetwork(docker: Docker): Promise<void> {
  const exists = await docker
    .getNetwork(EGRESS_NETWORK)
    .inspect()
    .then(() => true)
    .catch(() => false);
  if (!exists) {
    await docker.createNetwork({
      Name: EGRESS_NETWORK,
      Driver: 'bridge',
      EnableIPv6: false,
      Options: { 'com.docker.network.bridge.name': EGRESS_BRIDGE, 'com.docker.network.bridge.enable_icc': 'false' },
      Labels: { [LABELS.managed]: 'true' },
    });
  }
  const { drops, accepts } = egressRules(hostNetworks(), hostResolvers());
  const present = (rule: FilterRule) =>
    run('iptables', ['-C', ...rule]).then(
      () => true,
      () => false,
    );
  for (const rule of drops) if (!(await present(rule))) await run('iptables', ['-I', rule[0], '1', ...rule.slice(1)]);
  // on top, whatever drops were added before: delete and insert again
  for (const rule of accepts) {
    while (await present(rule)) await run('iptables', ['-D', ...rule]);
    await run('iptables', ['-I', rule[0], '1', ...rule.slice(1)]);
  }
}
