import { execFile } from 'node:child_process';
import { networkInterfaces } from 'node:os';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import { LABELS } from './container-runtime';

const run = promisify(execFile);

/** The Docker network of sandboxes whose template allows outbound network. */
export const EGRESS_NETWORK = 'sandbox-egress';
/** Its bridge interface, named so the filter can match it. */
export const EGRESS_BRIDGE = 'sbx-egress';

/** Never reachable from a sandbox: private, shared, loopback, link-local (cloud metadata) and special ranges. */
export const BLOCKED_RANGES = [
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '224.0.0.0/4',
  '240.0.0.0/4',
];

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

/** The filter rules, as iptables arguments after the chain (checked with -C, inserted with -I). */
export function egressRules(extraBlocked: readonly string[]): [chain: string, ...rule: string[]][] {
  return [
    // nothing of the host itself, on any of its addresses
    ['INPUT', '-i', EGRESS_BRIDGE, '-j', 'DROP'],
    ...[...BLOCKED_RANGES, ...extraBlocked].map((cidr): [string, ...string[]] => ['DOCKER-USER', '-i', EGRESS_BRIDGE, '-d', cidr, '-j', 'DROP']),
  ];
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
  for (const [chain, ...rule] of egressRules(hostNetworks())) {
    const present = await run('iptables', ['-C', chain, ...rule]).then(
      () => true,
      () => false,
    );
    if (!present) await run('iptables', ['-I', chain, '1', ...rule]);
  }
}
