import { BLOCKED_RANGES, EGRESS_BRIDGE, egressRules } from './egress-network';

describe('egressRules', () => {
  const { drops: rules, accepts } = egressRules(['192.0.2.0/24'], ['10.255.255.53']);

  it('drops everything a sandbox sends to the host itself', () => {
    expect(rules[0]).toEqual(['INPUT', '-i', EGRESS_BRIDGE, '-j', 'DROP']);
  });

  it("drops private, link-local (metadata), loopback and special ranges, and the host's own networks", () => {
    const dropped = rules.filter(([chain]) => chain === 'DOCKER-USER').map((r) => r[4]);
    expect(dropped).toEqual([...BLOCKED_RANGES, '192.0.2.0/24']);
    expect(dropped).toEqual(expect.arrayContaining(['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16']));
    for (const rule of rules.slice(1)) expect(rule).toEqual(['DOCKER-USER', '-i', EGRESS_BRIDGE, '-d', expect.any(String), '-j', 'DROP']);
  });

  it("lets DNS through to the host's resolvers only, port 53", () => {
    expect(accepts).toEqual([
      ['DOCKER-USER', '-i', EGRESS_BRIDGE, '-d', '10.255.255.53/32', '-p', 'udp', '--dport', '53', '-j', 'ACCEPT'],
      ['DOCKER-USER', '-i', EGRESS_BRIDGE, '-d', '10.255.255.53/32', '-p', 'tcp', '--dport', '53', '-j', 'ACCEPT'],
    ]);
  });
});
