import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { TestPlatform } from '@sandbox/testing';

/**
 * A template may allow outbound network (limits.network); none of the seed templates does. With it on,
 * a sandbox reaches the internet and nothing else: not the host on any address, not the stack's Redis,
 * MariaDB or S3, not private ranges or the metadata address, not another sandbox.
 */

/** A host on the internet this machine is known to reach: the apt mirror, read from its sources now. */
function mirrorHost(): string {
  const dir = '/etc/apt/sources.list.d';
  const texts = [readFileSafe('/etc/apt/sources.list'), ...safeList(dir).map((f) => readFileSafe(`${dir}/${f}`))];
  for (const m of texts.join('\n').matchAll(/(?:^URIs:\s*|^deb\s+(?:\[[^\]]*\]\s+)?)https?:\/\/([^/\s:]+)/gm)) return m[1]!;
  throw new Error('no http mirror in the apt sources of this machine');
}
const readFileSafe = (f: string) => {
  try {
    return readFileSync(f, 'utf8');
  } catch {
    return '';
  }
};
const safeList = (d: string) => {
  try {
    return readdirSync(d).filter((f) => f.endsWith('.list') || f.endsWith('.sources'));
  } catch {
    return [];
  }
};
/** The IPv4 addresses of this host, loopback aside. */
const hostAddresses = () => execFileSync('hostname', ['-I'], { encoding: 'utf8' }).trim().split(/\s+/).filter((a) => /^\d+\.\d+\.\d+\.\d+$/.test(a));

/** Python that probes every target at once: open, refused (reachable), or timeout (dropped). */
const probe = (targets: [string, number][]) =>
  [
    'import socket, json',
    'from concurrent.futures import ThreadPoolExecutor',
    'def probe(t):',
    '    try:',
    '        socket.create_connection(tuple(t), timeout=4).close()',
    '        return "open"',
    '    except socket.timeout:',
    '        return "timeout"',
    '    except OSError as e:',
    '        return type(e).__name__',
    `targets = ${JSON.stringify(targets)}`,
    'with ThreadPoolExecutor(len(targets)) as pool:',
    '    print(json.dumps(dict(zip([f"{h}:{p}" for h, p in targets], pool.map(probe, targets)))))',
  ].join('\n');

describe('network-enabled template', () => {
  let p: TestPlatform;

  beforeAll(async () => {
    p = await TestPlatform.start('e2e-net', { warmPool: 'python-basic=1' });
    await p.query(
      `INSERT INTO templates (id, name, image, base_image, language, pre_installed_packages, default_resources_cpu, default_resources_memory, default_resources_disk, limits)
       SELECT 'python-net', 'Python with internet', image, base_image, language, pre_installed_packages, default_resources_cpu, default_resources_memory, default_resources_disk,
              JSON_SET(limits, '$.network', TRUE) FROM templates WHERE id = 'python-basic'`,
    );
  });

  afterAll(async () => {
    await p?.stop();
  });

  it('is off in every seed template', async () => {
    const templates = (await p.api('GET', '/v1/templates')).body.items;
    const seeds = templates.filter((t: { id: string }) => t.id !== 'python-net');
    expect(seeds.map((t: { limits: { network: boolean } }) => t.limits.network)).toEqual([false, false, false, false]);
    expect(templates.find((t: { id: string }) => t.id === 'python-net').limits.network).toBe(true);
  });

  it('reaches the internet, and never the host, its services, private ranges, the metadata address or another sandbox', async () => {
    const mirror = mirrorHost();
    const [a, b] = [await p.session('python-net'), await p.session('python-net')];
    const neighbourIp = execFileSync('docker', ['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', b.container_id], { encoding: 'utf8' }).trim();
    const gateway = execFileSync('docker', ['network', 'inspect', '-f', '{{range .IPAM.Config}}{{.Gateway}}{{end}}', 'sandbox-egress'], { encoding: 'utf8' }).trim();
    expect(neighbourIp).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const stackPorts = [6379, 3306, 4569, 8000];
    const blocked: [string, number][] = [
      ...[gateway, ...hostAddresses(), '127.0.0.1'].flatMap((ip) => stackPorts.map((port): [string, number] => [ip, port])),
      ['169.254.169.254', 80],
      ['10.0.0.1', 80],
      ['192.168.1.1', 80],
      ['172.16.0.1', 80],
      [neighbourIp, 22],
      // the resolvers answer DNS (port 53) and nothing else
      ...[...readFileSafe('/etc/resolv.conf').matchAll(/^nameserver\s+(\d+\.\d+\.\d+\.\d+)/gm)].map((m): [string, number] => [m[1]!, 80]),
    ];
    const e = await p.execute(a.id, { code: probe([[mirror, 80], ...blocked]), timeout: 30 });
    expect(e).toMatchObject({ status: 'completed', exit_code: 0 });
    const verdicts: Record<string, string> = JSON.parse(e.stdout);
    expect(verdicts[`${mirror}:80`]).toBe('open');
    for (const [ip, port] of blocked) {
      // the sandbox's own loopback has nothing listening: refused there is its own namespace, not the host's
      expect([`${ip}:${port}`, verdicts[`${ip}:${port}`]]).toEqual([`${ip}:${port}`, ip === '127.0.0.1' ? 'ConnectionRefusedError' : 'timeout']);
    }
  });

  it('keeps the default templates without any network', async () => {
    const s = await p.session('python-basic');
    const e = await p.execute(s.id, { code: probe([[mirrorHost(), 80]]) });
    expect(JSON.parse(e.stdout)[`${mirrorHost()}:80`]).toMatch(/gaierror|OSError/);
  });
});
