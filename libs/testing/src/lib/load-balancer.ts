import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports';

/** A control-plane replica behind the load balancer: its HAProxy server name and port. */
export interface Replica {
  readonly name: string;
  readonly port: number;
}

/**
 * HAProxy (Debian's) in front of several control planes, configured as docs/runbooks/upgrade.md
 * describes: health checks on /ready, a refused or dropped connection retried on another replica,
 * and the admin socket tools/upgrade-control-plane.sh takes a replica out of rotation with.
 */
export class LoadBalancer {
  private constructor(
    readonly port: number,
    readonly socket: string,
    private readonly child: ChildProcess,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts HAProxy with its config and socket in `dir`; resolves once it answers on the socket. */
  static async start(dir: string, replicas: readonly Replica[], backend = 'control_plane'): Promise<LoadBalancer> {
    mkdirSync(dir, { recursive: true });
    const port = await freePort();
    const socket = join(dir, 'haproxy.sock');
    const config = join(dir, 'haproxy.cfg');
    writeFileSync(config, haproxyConfig(port, socket, replicas, backend));
    await promisify(execFile)('haproxy', ['-c', '-q', '-f', config]);
    const log = openSync(join(dir, 'haproxy.log'), 'w');
    const child = spawn('haproxy', ['-db', '-f', config], { stdio: ['ignore', log, log] });
    const lb = new LoadBalancer(port, socket, child);
    for (let i = 0; ; i++) {
      try {
        await lb.command('show info');
        return lb;
      } catch (e) {
        if (i > 100 || child.exitCode !== null) throw new Error(`haproxy did not start (see ${dir}/haproxy.log): ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  /** One command on the admin socket; its answer. */
  command(cmd: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const socat = spawn('socat', ['stdio', `UNIX-CONNECT:${this.socket}`], { stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      socat.stdout.on('data', (d: Buffer) => (out += d.toString()));
      socat.stderr.on('data', (d: Buffer) => (err += d.toString()));
      socat.on('error', reject);
      socat.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`socat: ${err.trim() || `exit ${code}`}`))));
      socat.stdin.end(`${cmd}\n`);
    });
  }

  /** The status HAProxy's health checks give a replica: UP, DOWN, MAINT... */
  async status(server: string): Promise<string> {
    const csv = await this.command('show stat');
    const [header, ...rows] = csv.trim().split('\n');
    const cols = header!.replace(/^# /, '').split(',');
    const row = rows.map((r) => r.split(',')).find((r) => r[1] === server);
    return row?.[cols.indexOf('status')] ?? 'missing';
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    await new Promise((resolve) => {
      this.child.once('exit', resolve);
      this.child.kill('SIGTERM');
    });
  }
}

function haproxyConfig(port: number, socket: string, replicas: readonly Replica[], backend: string): string {
  return `global
  stats socket ${socket} mode 600 level admin

defaults
  mode http
  timeout connect 2s
  timeout client 2m
  timeout server 2m
  timeout http-keep-alive 1m
  # a replica that refuses the connection or drops it unanswered: the request goes to another one
  retries 3
  option redispatch 1
  retry-on conn-failure empty-response

frontend api
  bind 127.0.0.1:${port}
  default_backend ${backend}

backend ${backend}
  balance roundrobin
  option httpchk GET /ready
  http-check expect status 200
  default-server inter 500ms fall 2 rise 2
${replicas.map((r) => `  server ${r.name} 127.0.0.1:${r.port} check`).join('\n')}
`;
}
