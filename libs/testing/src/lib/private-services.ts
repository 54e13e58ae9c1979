import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { createConnection as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import { REPO_ROOT } from './stack';
import { freePort } from './ports';

const PASSWORD = 'fault-suite-password';
const S3_KEY = 'S3RVER';

/** A server process of the fault suite: started, killed, paused and restarted on the same data. */
abstract class PrivateServer {
  protected proc: ChildProcess | null = null;

  constructor(
    readonly name: string,
    readonly port: number,
    readonly dir: string,
  ) {}

  /** Where it keeps its data (and nothing else): what a disaster destroys. */
  abstract readonly dataDir: string;

  async start(): Promise<void> {
    if (this.proc) throw new Error(`${this.name} runs already`);
    mkdirSync(this.dataDir, { recursive: true });
    const log = openSync(join(this.dir, `${this.name}.log`), 'a');
    const [cmd, ...args] = this.command();
    this.proc = spawn(cmd!, args, { stdio: ['ignore', log, log] });
    this.proc.on('exit', () => (this.proc = null));
    await this.waitUntilReady();
  }

  /** Kills it (SIGKILL by default: a crash) and waits until it is gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const proc = this.proc;
    if (!proc) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill(signal);
    });
  }

  async restart(): Promise<void> {
    await this.kill();
    await this.start();
  }

  /** SIGSTOP: it keeps its sockets open and answers nothing (a hung server). */
  pause(): void {
    this.proc?.kill('SIGSTOP');
  }

  resume(): void {
    this.proc?.kill('SIGCONT');
  }

  protected abstract command(): string[];
  protected abstract ready(): Promise<boolean>;

  private async waitUntilReady(): Promise<void> {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (!this.proc) throw new Error(`${this.name} exited at start; see ${join(this.dir, `${this.name}.log`)}`);
      if (await this.ready().catch(() => false)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${this.name} did not come up within 60 s`);
  }
}

class PrivateRedis extends PrivateServer {
  readonly dataDir = join(this.dir, 'redis');

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  protected command(): string[] {
    // the production settings: AOF every second, noeviction
    return ['redis-server', '--bind', '127.0.0.1', '--port', String(this.port), '--dir', this.dataDir, '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '', '--maxmemory-policy', 'noeviction'];
  }

  protected ready(): Promise<boolean> {
    return new Promise((resolve) => {
      const socket = tcpConnect(this.port, '127.0.0.1', () => socket.write('PING\r\n'));
      socket.on('data', (d) => {
        resolve(d.toString().startsWith('+PONG'));
        socket.destroy();
      });
      socket.on('error', () => resolve(false));
    });
  }
}

class PrivateMariaDb extends PrivateServer {
  readonly dataDir = join(this.dir, 'data');
  private readonly socket = join(this.dir, 'mariadb.sock');

  /** An account that may create and drop the suite's databases. */
  get adminUrl(): string {
    return `mysql://sandbox:${PASSWORD}@127.0.0.1:${this.port}/`;
  }

  async install(): Promise<void> {
    mkdirSync(this.dataDir, { recursive: true });
    execFileSync('mariadb-install-db', ['--no-defaults', `--datadir=${this.dataDir}`, '--user=root', '--auth-root-authentication-method=socket', '--skip-test-db'], {
      stdio: 'ignore',
    });
    await this.start();
    const root = await createConnection({ socketPath: this.socket, user: 'root' });
    try {
      await root.query(`CREATE USER 'sandbox'@'127.0.0.1' IDENTIFIED BY '${PASSWORD}'`);
      await root.query("GRANT ALL PRIVILEGES ON *.* TO 'sandbox'@'127.0.0.1'");
    } finally {
      await root.end();
    }
  }

  protected command(): string[] {
    return [
      'mariadbd', '--no-defaults', '--user=root', `--datadir=${this.dataDir}`, `--socket=${this.socket}`,
      '--bind-address=127.0.0.1', `--port=${this.port}`, '--skip-name-resolve', '--default-time-zone=+00:00',
      '--character-set-server=utf8mb4', '--collation-server=utf8mb4_unicode_ci', '--innodb-flush-log-at-trx-commit=2',
      '--innodb-buffer-pool-size=64M', '--max-connections=300',
    ];
  }

  protected async ready(): Promise<boolean> {
    const c = await createConnection({ socketPath: this.socket, user: 'root', connectTimeout: 1000 });
    await c.end();
    return true;
  }
}

class PrivateS3 extends PrivateServer {
  readonly dataDir = join(this.dir, 's3');

  get env(): Record<string, string> {
    return { STORAGE_DRIVER: 's3', S3_ENDPOINT: `http://127.0.0.1:${this.port}`, S3_BUCKET: 'faults', S3_ACCESS_KEY_ID: S3_KEY, S3_SECRET_ACCESS_KEY: S3_KEY };
  }

  protected command(): string[] {
    // as tools/stack-up.sh starts it (DES continuation tokens need OpenSSL's legacy provider)
    return [process.execPath, '--openssl-legacy-provider', join(REPO_ROOT, 'node_modules/s3rver/bin/s3rver.js'), '--directory', this.dataDir, '--address', '127.0.0.1', '--port', String(this.port), '--configure-bucket', 'faults', '--silent'];
  }

  protected async ready(): Promise<boolean> {
    await fetch(`http://127.0.0.1:${this.port}/`, { signal: AbortSignal.timeout(1000) });
    return true;
  }
}

/**
 * Redis, MariaDB and an S3 server of their own for the fault-injection and backup drill suites: they
 * kill, pause, restart and wipe them, which they must never do to the stack every other suite shares.
 */
export class PrivateServices {
  private constructor(
    readonly dir: string,
    readonly redis: PrivateRedis,
    readonly mariadb: PrivateMariaDb,
    readonly s3: PrivateS3,
  ) {}

  static async start(label: string): Promise<PrivateServices> {
    const dir = mkdtempSync(join(tmpdir(), `sandbox-${label}-`));
    const services = new PrivateServices(
      dir,
      new PrivateRedis('redis', await freePort(), dir),
      new PrivateMariaDb('mariadb', await freePort(), dir),
      new PrivateS3('s3rver', await freePort(), dir),
    );
    try {
      await Promise.all([services.redis.start(), services.mariadb.install(), services.s3.start()]);
      return services;
    } catch (e) {
      await services.stop();
      throw e;
    }
  }

  /**
   * A disaster and a new stack: every server killed, its data directory deleted, then started again
   * empty (MariaDB installed afresh with the same account, the bucket created empty).
   */
  async startEmpty(): Promise<void> {
    for (const server of [this.redis, this.mariadb, this.s3]) {
      server.resume();
      await server.kill();
      rmSync(server.dataDir, { recursive: true, force: true });
    }
    await Promise.all([this.redis.start(), this.mariadb.install(), this.s3.start()]);
  }

  async stop(): Promise<void> {
    for (const server of [this.redis, this.mariadb, this.s3]) {
      server.resume();
      await server.kill('SIGTERM');
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
