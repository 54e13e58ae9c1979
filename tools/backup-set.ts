// One backup as tools/backup.ts writes it and tools/restore.ts reads it: a directory named after its
// UTC start time holding the database dump, the Redis snapshot, the store's objects (one file per
// distinct content, named by its sha256) and manifest.json, which lists every file with its size and
// sha256 and every object key with the content it had. The runbook: docs/runbooks/backup-restore.md.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';

export const MANIFEST = 'manifest.json';
export const DATABASE_FILE = 'database.sql';
export const REDIS_FILE = 'redis.rdb';
export const OBJECTS_DIR = 'objects';
/** A complete backup's directory name (its start, UTC); `<name>.partial` while it is being written. */
export const BACKUP_NAME = /^\d{8}T\d{6}Z$/;

/**
 * Retention: of the complete backups (by name), those beyond the newest `keep` and those older than
 * `maxAgeDays`; never `newest`, the one just made (so a clock gone wrong never empties the directory).
 */
export function expiredBackups(names: readonly string[], newest: string, keep: number, maxAgeDays: number, now: number): string[] {
  return [...names]
    .sort()
    .reverse()
    .filter((name, i) => name !== newest && (i >= keep || now - backupTime(name) > maxAgeDays * 86_400_000));
}

/** 20261202T121314Z → its epoch ms. */
export function backupTime(name: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(name);
  if (!m) throw new Error(`'${name}' is not a backup name`);
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}

const sha256 = z.string().regex(/^[0-9a-f]{64}$/);
const instant = z.string().datetime();

export const manifestSchema = z.object({
  format: z.literal(1),
  started_at: instant,
  finished_at: instant,
  /** The dump's consistent snapshot: what the database held then is what a restore brings back (the RPO point). */
  database_snapshot_at: instant,
  redis_snapshot_at: instant,
  source: z.object({ database: z.string(), redis: z.string(), store: z.string() }),
  durations_ms: z.object({ database: z.number(), redis: z.number(), objects: z.number(), total: z.number() }),
  files: z.array(z.object({ name: z.enum([DATABASE_FILE, REDIS_FILE]), size: z.number().int().nonnegative(), sha256 })),
  /** Every object key of the store with its content (objects/<sha256>). */
  objects: z.array(z.object({ key: z.string().min(1), size: z.number().int().nonnegative(), sha256 })),
});
export type Manifest = z.infer<typeof manifestSchema>;

export interface Digest {
  readonly size: number;
  readonly sha256: string;
}

/** Size and sha256 of a stream, read through once. */
export async function digestOf(stream: Readable): Promise<Digest> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { size, sha256: hash.digest('hex') };
}

export const digestOfFile = (path: string): Promise<Digest> => digestOf(createReadStream(path));

/**
 * Runs a program to its end; stdin and stdout may be streams. Rejects with its stderr when it fails,
 * so the operator sees why (mariadb-dump's access denied, redis-cli's connection refused).
 */
export async function run(cmd: string, args: readonly string[], io: { stdin?: Readable; stdout?: Writable } = {}): Promise<void> {
  const child = spawn(cmd, args, { stdio: [io.stdin ? 'pipe' : 'ignore', io.stdout ? 'pipe' : 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  const streams = [io.stdin ? pipeline(io.stdin, child.stdin!) : null, io.stdout ? pipeline(child.stdout!, io.stdout) : null];
  const [code] = await Promise.all([exited, ...streams.map((s) => s?.catch((e: Error) => (stderr += `\n${e.message}`)))]);
  if (code !== 0) throw new Error(`${cmd} failed (exit ${code}): ${stderr.trim()}`);
}

/**
 * The MariaDB client settings of a DATABASE_URL as a defaults file readable by us alone (a password on
 * the command line would show in `ps`); `args` go first on the client's command line.
 */
export function mariadbClient(databaseUrl: string): { database: string; args: string[]; dispose(): void } {
  const url = new URL(databaseUrl);
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!/^[A-Za-z0-9_$-]{1,64}$/.test(database)) throw new Error(`DATABASE_URL names no usable database ('${database}')`);
  const dir = mkdtempSync(join(tmpdir(), 'sandbox-backup-'));
  const file = join(dir, 'client.cnf');
  const quote = (v: string) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  writeFileSync(
    file,
    ['[client]', `host=${url.hostname}`, `port=${url.port || '3306'}`, `user=${quote(decodeURIComponent(url.username))}`, `password=${quote(decodeURIComponent(url.password))}`, ''].join('\n'),
    { mode: 0o600 },
  );
  return { database, args: [`--defaults-extra-file=${file}`], dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs `work` over the items, at most `limit` at once. */
export async function eachLimited<T>(items: Iterable<T> | AsyncIterable<T>, limit: number, work: (item: T) => Promise<void>): Promise<void> {
  const running = new Set<Promise<void>>();
  for await (const item of items) {
    const p: Promise<void> = work(item).finally(() => running.delete(p));
    running.add(p);
    if (running.size >= limit) await Promise.race(running);
  }
  await Promise.all(running);
}

/** A redacted URL for logs and the manifest: no password. */
export function redacted(raw: string): string {
  const url = new URL(raw);
  url.password = '';
  url.username = '';
  return url.toString();
}
