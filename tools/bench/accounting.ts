// What the platform spends per execution, read from the kernel and the servers themselves: CPU time of
// every process on the path (/proc/<pid>/stat; the sandboxes from their cgroups), MariaDB statements
// (`Questions`) and Redis commands (`INFO commandstats`, those run inside Lua scripts included).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Redis from 'ioredis';
import { stackEnv } from '@sandbox/testing';

const TICK_MS = 10; // USER_HZ is 100 on Linux
/** Server processes of the stack, by /proc/<pid>/comm (truncated to 15 characters by the kernel). */
const SERVERS: Record<string, string> = { mariadbd: 'mariadb', 'redis-server': 'redis', dockerd: 'dockerd', containerd: 'containerd', 'containerd-shim': 'containerd-shim' };
/** The cgroup holding every container: v1 (cgroupfs driver) in ns, v2 in µs. */
const SANDBOX_CGROUPS = [
  { file: '/sys/fs/cgroup/cpuacct/docker/cpuacct.usage', ms: (s: string) => Number(s) / 1e6 },
  { file: '/sys/fs/cgroup/docker/cpu.stat', ms: (s: string) => Number(/usage_usec (\d+)/.exec(s)?.[1] ?? 0) / 1e3 },
  { file: '/sys/fs/cgroup/system.slice/cpu.stat', ms: (s: string) => Number(/usage_usec (\d+)/.exec(s)?.[1] ?? 0) / 1e3 },
];

function procCpuMs(pid: number): number {
  try {
    // fields after the command (which may hold spaces): utime and stime are the 12th and 13th
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * TICK_MS;
  } catch {
    return 0;
  }
}

function sandboxesCpuMs(): number {
  for (const c of SANDBOX_CGROUPS) {
    try {
      return c.ms(readFileSync(c.file, 'utf8'));
    } catch {
      continue;
    }
  }
  return 0;
}

/** CPU-ms used so far by each process of the platform and the stack: `own` names the platform's processes. */
export function cpuSample(own: Iterable<[string, number | undefined]>): Map<string, number> {
  const out = new Map<string, number>();
  const add = (name: string, v: number) => out.set(name, (out.get(name) ?? 0) + v);
  for (const [name, pid] of own) if (pid) add(name, procCpuMs(pid));
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let comm: string;
    try {
      comm = readFileSync(join('/proc', pid, 'comm'), 'utf8').trim();
    } catch {
      continue;
    }
    const server = SERVERS[comm] ?? (comm === 'node' && /s3rver/.test(readFileSync(join('/proc', pid, 'cmdline'), 'utf8')) ? 's3rver' : undefined);
    if (server) add(server, procCpuMs(Number(pid)));
  }
  add('sandboxes', sandboxesCpuMs());
  const self = process.cpuUsage();
  add('bench client', (self.user + self.system) / 1000);
  return out;
}

/** CPU-ms per execution of each process between two samples, and their sum. */
export function cpuPerExecution(before: Map<string, number>, after: Map<string, number>, executions: number): Record<string, number> {
  const per: Record<string, number> = {};
  let total = 0;
  for (const [name, v] of after) {
    const ms = Math.max(0, v - (before.get(name) ?? 0)) / executions;
    per[name] = Math.round(ms * 100) / 100;
    if (name !== 'bench client') total += ms;
  }
  return { ...per, 'platform total': Math.round(total * 100) / 100 };
}

/** MariaDB statements and Redis commands served so far (every client's: run nothing else meanwhile). */
export async function roundTrips(query: (sql: string) => Promise<{ Value: string }[]>, redis: Redis): Promise<{ db: number; redis: number }> {
  const [q] = await query("SHOW GLOBAL STATUS LIKE 'Questions'");
  const stats = await redis.info('commandstats');
  const calls = [...stats.matchAll(/calls=(\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
  return { db: Number(q!.Value), redis: calls };
}

export function stackRedis(): Redis {
  return new Redis(stackEnv().REDIS_URL, { lazyConnect: false, maxRetriesPerRequest: 1 });
}
