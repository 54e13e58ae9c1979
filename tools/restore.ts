// Brings a new, empty stack back from a backup of tools/backup.ts (tools/restore.sh [DIR]; the newest
// complete backup under BACKUP_DIR by default; docs/runbooks/backup-restore.md):
//   1. verifies the backup against its manifest (every file's and object's size and sha256);
//   2. refuses a target that holds anything: tables in the database, keys in Redis, objects in the store;
//   3. loads the dump, then Redis's keys, then the objects;
//   4. checks that every workspace file the restored manifest rows name has its object.
// Stop the platform first and start it after: the reaper then recovers the executions that were in
// flight at the backup (their nodes' heartbeats are old: retried or recorded, exactly once).
import { spawn } from 'node:child_process';
import { createReadStream, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import Redis from 'ioredis';
import { createConnection } from 'mysql2/promise';
import { backupConfigSchema, loadConfig } from '@sandbox/config';
import { createWorkspaceStore, type WorkspaceStore } from '@sandbox/storage';
import { BACKUP_NAME, DATABASE_FILE, digestOfFile, eachLimited, type Manifest, MANIFEST, manifestSchema, mariadbClient, OBJECTS_DIR, REDIS_FILE, run } from './backup-set';

const OBJECT_PUTS = 8;
const REDIS_BATCH = 500;

async function main(): Promise<void> {
  const config = loadConfig(backupConfigSchema);
  const dir = resolve(process.argv[2] ?? newestBackup(config.BACKUP_DIR));
  const started = Date.now();
  const manifest = await verify(dir);
  const verifyMs = Date.now() - started;
  const store = createWorkspaceStore(config);
  const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 2, lazyConnect: true });
  const client = mariadbClient(config.DATABASE_URL);
  try {
    await redis.connect();
    await store.prepare();
    await refuseUnlessEmpty(config.DATABASE_URL, client.database, redis, store);

    const t0 = Date.now();
    await createDatabase(config.DATABASE_URL, client.database);
    await run('mariadb', [...client.args, '--default-character-set=utf8mb4', client.database], { stdin: withoutDefiners(join(dir, DATABASE_FILE)) });
    const databaseMs = Date.now() - t0;

    const t1 = Date.now();
    const keys = await restoreRedis(join(dir, REDIS_FILE), redis, Number(new URL(config.REDIS_URL).pathname.slice(1) || 0));
    const redisMs = Date.now() - t1;

    const t2 = Date.now();
    await eachLimited(manifest.objects, OBJECT_PUTS, async (o) => {
      await store.put(o.key, createReadStream(join(dir, OBJECTS_DIR, o.sha256)), { size: o.size });
    });
    const objectsMs = Date.now() - t2;

    const missing = await missingWorkspaceObjects(config.DATABASE_URL, new Set(manifest.objects.map((o) => o.key)));
    if (missing.length) console.error(`restore: ${missing.length} workspace file(s) whose object was deleted during the backup: ${missing.slice(0, 20).join(', ')}`);
    console.log(
      JSON.stringify({
        restored: dir,
        database_snapshot_at: manifest.database_snapshot_at,
        objects: manifest.objects.length,
        redis_keys: keys,
        missing_workspace_objects: missing.length,
        durations_ms: { verify: verifyMs, database: databaseMs, redis: redisMs, objects: objectsMs, total: Date.now() - started },
      }),
    );
  } finally {
    client.dispose();
    redis.disconnect();
    store.close();
  }
}

function newestBackup(root: string): string {
  const complete = existsSync(root) ? readdirSync(root).filter((e) => BACKUP_NAME.test(e) && existsSync(join(root, e, MANIFEST))) : [];
  if (!complete.length) throw new Error(`no complete backup under ${root} (BACKUP_DIR)`);
  return join(root, complete.sort().at(-1)!);
}

/** The manifest, once every file and object of the backup has the size and sha256 it lists. */
async function verify(dir: string): Promise<Manifest> {
  if (!existsSync(join(dir, MANIFEST))) throw new Error(`${dir} holds no ${MANIFEST}: not a complete backup`);
  const manifest = manifestSchema.parse(JSON.parse(readFileSync(join(dir, MANIFEST), 'utf8')));
  const contents = new Map(manifest.objects.map((o) => [o.sha256, o.size]));
  const expected = [
    ...manifest.files.map((f) => ({ path: join(dir, f.name), size: f.size, sha256: f.sha256 })),
    ...[...contents].map(([sha256, size]) => ({ path: join(dir, OBJECTS_DIR, sha256), size, sha256 })),
  ];
  await eachLimited(expected, 4, async (f) => {
    if (!existsSync(f.path)) throw new Error(`backup damaged: ${f.path} is missing`);
    const got = await digestOfFile(f.path);
    if (got.size !== f.size || got.sha256 !== f.sha256) throw new Error(`backup damaged: ${f.path} has ${got.size} bytes, sha256 ${got.sha256}; the manifest says ${f.size}, ${f.sha256}`);
  });
  return manifest;
}

async function refuseUnlessEmpty(databaseUrl: string, database: string, redis: Redis, store: WorkspaceStore): Promise<void> {
  const conn = await connect(databaseUrl, false);
  try {
    const [rows] = await conn.query('SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = ?', [database]);
    if ((rows as { n: number }[])[0]!.n > 0) throw new Error(`database ${database} has tables: restore goes into an empty stack only`);
  } finally {
    await conn.end();
  }
  if ((await redis.dbsize()) > 0) throw new Error('Redis holds keys: restore goes into an empty stack only');
  for await (const o of store.list('')) throw new Error(`the store holds objects (${o.key}, ...): restore goes into an empty stack only`);
}

async function createDatabase(databaseUrl: string, database: string): Promise<void> {
  const conn = await connect(databaseUrl, false);
  try {
    await conn.query(`CREATE DATABASE IF NOT EXISTS \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  } finally {
    await conn.end();
  }
}

/**
 * The dump with its DEFINER clauses dropped: the triggers then belong to the account restoring them,
 * which exists on the new server, whereas the old account may not (a trigger whose definer is missing
 * fails every write to its table).
 */
function withoutDefiners(path: string): Readable {
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  return Readable.from(
    (async function* () {
      for await (const line of lines) yield `${line.includes('DEFINER=') ? line.replace(/DEFINER=`[^`]*`@`[^`]*`/g, '') : line}\n`;
    })(),
  );
}

/**
 * Redis's keys from the RDB: a throwaway redis-server (no TCP, no persistence) loads the file, and each
 * key goes over by DUMP and RESTORE with its remaining TTL. Works with any target (password, TLS)
 * without access to its disk or a restart; the source changes not, so the copy is the snapshot.
 */
async function restoreRedis(rdb: string, target: Redis, db: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'sandbox-restore-redis-'));
  symlinkSync(rdb, join(dir, 'dump.rdb'));
  const socket = join(dir, 'redis.sock');
  const server = spawn('redis-server', ['--port', '0', '--unixsocket', socket, '--dir', dir, '--dbfilename', 'dump.rdb', '--appendonly', 'no', '--save', ''], { stdio: 'ignore' });
  const exited = new Promise<never>((_, reject) => server.once('exit', (code) => reject(new Error(`redis-server could not load ${rdb} (exit ${code}); is it an RDB of this Redis version or older?`))));
  exited.catch(() => undefined);
  let source: Redis | null = null;
  let restored = 0;
  try {
    const deadline = Date.now() + 60_000;
    while (!existsSync(socket)) {
      if (server.exitCode !== null || Date.now() > deadline) await Promise.race([exited, Promise.reject(new Error('redis-server did not start within 60 s'))]);
      await new Promise((r) => setTimeout(r, 50));
    }
    // the ready check waits while the server still loads the file (it answers LOADING until then)
    source = new Redis({ path: socket, db, maxRetriesPerRequest: null });
    await Promise.race([source.ping(), exited]);
    let cursor = '0';
    do {
      const [next, keys] = await source.scan(cursor, 'COUNT', REDIS_BATCH);
      cursor = next;
      if (!keys.length) continue;
      const read = source.pipeline();
      for (const k of keys) read.dumpBuffer(k).pttl(k);
      const got = (await read.exec())!;
      const write = target.pipeline();
      keys.forEach((k, i) => {
        const payload = got[2 * i]![1] as Buffer | null;
        const ttl = got[2 * i + 1]![1] as number;
        if (payload && ttl !== -2) write.restore(k, ttl > 0 ? ttl : 0, payload);
      });
      for (const [err] of (await write.exec())!) if (err) throw err;
      restored += write.length;
    } while (cursor !== '0');
  } finally {
    source?.disconnect();
    server.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
  return restored;
}

/** Workspace files (the restored workspace_files rows) whose object the backup does not hold. */
async function missingWorkspaceObjects(databaseUrl: string, objects: ReadonlySet<string>): Promise<string[]> {
  const conn = await connect(databaseUrl, true);
  try {
    const [rows] = await conn.query('SELECT session_id, path, object_key FROM workspace_files');
    return (rows as { session_id: string; path: Buffer; object_key: string }[]).filter((r) => !objects.has(r.object_key)).map((r) => `${r.session_id}:${r.path.toString('utf8')}`);
  } finally {
    await conn.end();
  }
}

/** A connection to the server of DATABASE_URL, into its database or (before it exists) none. */
function connect(databaseUrl: string, intoDatabase: boolean) {
  const url = new URL(databaseUrl);
  const database = intoDatabase ? decodeURIComponent(url.pathname.slice(1)) : undefined;
  return createConnection({ host: url.hostname, port: Number(url.port || 3306), user: decodeURIComponent(url.username), password: decodeURIComponent(url.password), ...(database ? { database } : {}) });
}

main().catch((e: Error) => {
  console.error(`restore: ${e.message}`);
  process.exit(1);
});
