import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where the cgroup v2 hierarchy is mounted (hybrid hosts mount it beside the v1 controllers). */
function cgroup2Root(): string {
  const line = readFileSync('/proc/mounts', 'utf8').split('\n').find((l) => l.split(' ')[2] === 'cgroup2');
  if (!line) throw new Error('no cgroup2 hierarchy is mounted: packets of one process cannot be told apart');
  return line.split(' ')[1]!;
}

/**
 * A partition as one process sees it: every TCP packet it sends to a port is silently dropped (not
 * refused), so its connections hang instead of failing. Its open connections are matched by their
 * local ports; for the ones it opens later it is moved into a cgroup of its own, matched with
 * `-m cgroup --path` (a socket keeps the cgroup it was made in). `heal` removes all of it.
 */
export class PacketDrop {
  private healed = false;

  private constructor(
    private readonly pid: number,
    private readonly group: string,
    private readonly rules: string[][],
  ) {}

  static cut(pid: number, port: number): PacketDrop {
    const group = `sandbox-test-drop-${pid}-${port}`;
    const dir = join(cgroup2Root(), group);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'cgroup.procs'), String(pid));
    const open = execFileSync('ss', ['-Htnp', 'state', 'established', `( dport = :${port} )`], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.includes(`pid=${pid},`))
      .map((l) => l.trim().split(/\s+/)[2]!.split(':').pop()!);
    const rules = [
      ['OUTPUT', '-p', 'tcp', '--dport', String(port), '-m', 'cgroup', '--path', group, '-j', 'DROP'],
      ...open.map((local) => ['OUTPUT', '-p', 'tcp', '--sport', local, '--dport', String(port), '-j', 'DROP']),
    ];
    for (const rule of rules) execFileSync('iptables', ['-I', ...rule]);
    return new PacketDrop(pid, group, rules);
  }

  heal(): void {
    if (this.healed) return;
    this.healed = true;
    for (const rule of this.rules) execFileSync('iptables', ['-D', ...rule]);
    const root = cgroup2Root();
    try {
      writeFileSync(join(root, 'cgroup.procs'), String(this.pid));
    } catch {
      // the process is gone
    }
    rmdirSync(join(root, this.group));
  }
}
