// The host agent of seed 004: the systemd unit, its settings and the onboarding script, checked with
// the tools a host uses (systemd-analyze, the agent's own config schema, shellcheck). None of it needs
// systemd as PID 1: systemd-analyze reads the unit against a copy of this machine's units.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { agentConfigSchema, loadConfig } from '@sandbox/config';

const ROOT = join(__dirname, '..');
const UNIT = join(ROOT, 'tools/systemd/sandbox-agent.service');
const ENV_EXAMPLE = join(ROOT, 'tools/systemd/agent.env.example');
const ONBOARD = join(ROOT, 'tools/onboard-node.sh');

describe('host agent under systemd', () => {
  let root: string;

  /** A file system root holding this machine's units, the agent's unit and and a node in its search path. */
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'sd-root-'));
    cpSync('/usr/lib/systemd/system', join(root, 'usr/lib/systemd/system'), { recursive: true, verbatimSymlinks: true });
    mkdirSync(join(root, 'etc/systemd/system'), { recursive: true });
    copyFileSync(UNIT, join(root, 'etc/systemd/system/sandbox-agent.service'));
    mkdirSync(join(root, 'usr/bin'), { recursive: true });
    copyFileSync('/bin/true', join(root, 'usr/bin/node'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('is a unit systemd-analyze verify accepts without a word', () => {
    const r = spawnSync('systemd-analyze', ['verify', `--root=${root}`, 'sandbox-agent.service'], { encoding: 'utf8' });
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
  });

  it('is hardened: exposure 3.0 or less in systemd-analyze security (docker socket and iptables kept)', () => {
    // --threshold is in tenths: the exit status fails above 3.0 ("OK")
    const r = spawnSync('systemd-analyze', ['security', '--offline=true', `--root=${root}`, '--threshold=30', 'sandbox-agent.service'], { encoding: 'utf8' });
    expect([r.status, r.stdout.match(/Overall exposure level for sandbox-agent.service: ([\d.]+)/)?.[1]]).toEqual([0, expect.stringMatching(/^[0-2]\.\d|^3\.0/)]);
    const unit = readFileSync(UNIT, 'utf8');
    for (const line of ['ProtectSystem=strict', 'NoNewPrivileges=yes', 'PrivateTmp=yes', 'ProtectHome=yes', 'SupplementaryGroups=docker', 'CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW']) {
      expect(unit).toContain(`\n${line}\n`);
    }
  });

  it("gives the agent's identity what it needs, on a read-only system: the Docker socket and the netfilter", () => {
    // the unit's identity, as setpriv gives it: not root, the docker group, only the unit's
    // capabilities (bounding, ambient), no new privileges, and / mounted read-only (ProtectSystem=strict)
    const unit = readFileSync(UNIT, 'utf8');
    const caps = /\nCapabilityBoundingSet=(.+)\n/.exec(unit)![1]!.split(' ').map((c) => c.replace(/^CAP_/, '').toLowerCase());
    expect(/\nAmbientCapabilities=(.+)\n/.exec(unit)![1]).toBe(/\nCapabilityBoundingSet=(.+)\n/.exec(unit)![1]);
    const docker = execFileSync('getent', ['group', /\nSupplementaryGroups=(\w+)\n/.exec(unit)![1]!], { encoding: 'utf8' }).split(':')[2];
    const as = (keep: string[]) => {
      const set = ['-all', ...keep.map((c) => `+${c}`)].join(',');
      const identity = `setpriv --reuid=65534 --regid=65534 --groups=${docker} --inh-caps=${set} --ambient-caps=${set} --bounding-set=${set} --no-new-privs`;
      // read-only: the root and the file system holding the socket (/run is a tmpfs of its own on most hosts)
      const readOnly = 'mount --make-rprivate / && mount -o remount,bind,ro / && mount -o remount,bind,ro "$(findmnt -n -o TARGET --target /run/docker.sock)"';
      const isReadOnly = 'findmnt -n -o OPTIONS --target /run/docker.sock | grep -q "^ro,"';
      return spawnSync('unshare', ['-m', 'sh', '-c', `${readOnly} && ${isReadOnly} && ${identity} sh -c 'curl -fsS --unix-socket /run/docker.sock http://docker/_ping && iptables -S INPUT >/dev/null'`], { encoding: 'utf8' });
    };
    const granted = as(caps);
    expect({ status: granted.status, stdout: granted.stdout, stderr: granted.stderr }).toEqual({ status: 0, stdout: 'OK', stderr: '' });
    // and the capabilities are what it takes: without them the egress filter cannot be installed
    expect(as([]).stderr).toMatch(/iptables.*Permission denied/);
  });

  it("restarts on failure only: a drained agent's exit 0 keeps it down; the stop timeout outlasts the drain", () => {
    const unit = readFileSync(UNIT, 'utf8');
    expect(unit).toContain('\nRestart=on-failure\n');
    const stop = Number(/\nTimeoutStopSec=(\d+)s\n/.exec(unit)?.[1]);
    expect(stop * 1000).toBeGreaterThan(agentConfigSchema.parse({ DATABASE_URL: 'mysql://a@b/c', REDIS_URL: 'redis://r' }).DRAIN_TIMEOUT_MS);
  });

  it('ships an agent.env example the agent accepts, with no fixed NODE_ID (the hostname names each node)', () => {
    const env = parseEnv(readFileSync(ENV_EXAMPLE, 'utf8'));
    expect(env['NODE_ID']).toBeUndefined();
    const config = loadConfig(agentConfigSchema, { NODE_ENV: 'production', ...env });
    expect(config).toMatchObject({ METRICS_HOST: '0.0.0.0', STORAGE_DRIVER: 's3', AGENT_CAPACITY: 4 });
  });

  it('onboards in a dry run: every step printed, nothing installed', () => {
    const before = ['/etc/sandbox-agent', '/opt/sandbox-agent', '/etc/systemd/system/sandbox-agent.service'].map(existsSync);
    const out = execFileSync('bash', [ONBOARD, '--dry-run', '--env', ENV_EXAMPLE, '--node-id', 'onboard-t1'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const steps = [
      /^\+ ensure_packages docker\.io iptables prometheus-node-exporter /m,
      /^\+ env STACK_DIR=\S+ bash \S+\/tools\/images-build\.sh$/m,
      /^\+ npm prune --prefix \/opt\/sandbox-agent\/releases\/\S+ --omit=dev --offline/m,
      /^\+ useradd --system .* sandbox-agent$/m,
      /^\+ install -D -m 0600 -o root -g root \S+ \/etc\/sandbox-agent\/agent\.env$/m,
      /^\+ sh -c echo 'NODE_ID=onboard-t1' >> '\/etc\/sandbox-agent\/agent\.env'$/m,
      /^\+ node -e const c = require\('\/opt\/sandbox-agent\/releases\/\S+\/dist\/libs\/config\/src\/index\.js'\);\s+c\.loadConfig\(c\.agentConfigSchema/m,
      /^\+ ln -sfn \/opt\/sandbox-agent\/releases\/\S+\/dist \/opt\/sandbox-agent\/current\.new$/m,
      /^\+ mv -T \/opt\/sandbox-agent\/current\.new \/opt\/sandbox-agent\/current$/m,
      /^\+ systemd-analyze verify \/etc\/systemd\/system\/sandbox-agent\.service$/m,
      /^\+ systemctl enable sandbox-agent$/m,
      /^\+ systemctl restart sandbox-agent$/m,
      /targets\/agent-onboard-t1\.yml:\n- targets: \['[^']+:9464'\]\n {2}labels: \{ node: 'onboard-t1' \}/,
    ];
    let at = 0;
    for (const step of steps) {
      const m = step.exec(out.slice(at));
      expect([step.source, Boolean(m)]).toEqual([step.source, true]);
      at += m!.index + m![0].length;
    }
    expect(['/etc/sandbox-agent', '/opt/sandbox-agent', '/etc/systemd/system/sandbox-agent.service'].map(existsSync)).toEqual(before);
  });

  it('makes only a release for an upgrade with --release-only', () => {
    const out = execFileSync('bash', [ONBOARD, '--dry-run', '--release-only'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(out).toMatch(/^\+ npm prune --prefix \/opt\/sandbox-agent\/releases\/\S+ --omit=dev/m);
    expect(out).not.toMatch(/systemctl|useradd|agent\.env/);
  });

  it('refuses bad arguments before doing anything', () => {
    const run = (...args: string[]) => spawnSync('bash', [ONBOARD, '--dry-run', ...args], { encoding: 'utf8' });
    expect(run().status).toBe(2);
    expect(run('--env', ENV_EXAMPLE, '--node-id', 'bad id!').stderr).toMatch(/--node-id: letters, digits/);
    expect(run('--env', ENV_EXAMPLE, '--api', 'http://cp:8000').stderr).toMatch(/--api needs --api-key-file/);
    expect(run('--env', '/nonexistent/agent.env').stderr).toMatch(/cannot read \/nonexistent\/agent\.env/);
  });

  it('has shell scripts shellcheck passes', () => {
    // SC1091: lib.sh is sourced by a computed path
    const r = spawnSync('shellcheck', ['-S', 'warning', '-e', 'SC1091', ONBOARD, join(ROOT, 'docker/mariadb/exporter-user.sh')], { encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
