// A backup of the platform's data while it runs (tools/backup.sh; docs/runbooks/backup-restore.md):
//   1. the store's objects, copied (pass 1);
//   2. the database, dumped in one consistent snapshot (mariadb-dump --single-transaction: InnoDB, no lock);
//   3. Redis, as an RDB snapshot taken by the server and streamed over its connection (redis-cli --rdb);
//   4. the objects written since pass 1 (pass 2).
// Workspace objects are written once under keys never reused, before the manifest row naming them
// commits, so the two passes hold every object the snapshot's workspace_files rows name, except one
// replaced and deleted in the seconds between the snapshot and pass 2 (restore reports any such).
// Redis after the database: the database is the state of record, and the reaper rings again any
// doorbell the snapshot lacks. Settings from the environment (libs/config backupConfigSchema).
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { backupConfigSchema, loadConfig } from '@sandbox/config';
import { createWorkspaceStore, type WorkspaceStore } from '@sandbox/storage';
import {
  BACKUP_NAME,
  DATABASE_FILE,
  digestOf,
  digestOfFile,
  eachLimited,
  expiredBackups,
  type Manifest,
  MANIFEST,
  manifestSchema,
  mariadbClient,
  OBJECTS_DIR,
  redacted,
  REDIS_FILE,
  run,
} from './backup-set';

const OBJECT_COPIES = 8;
/** A `.partial` directory older than this is a crashed backup's: retention removes it. */
const PARTIAL_STALE_MS = 86_400_000;

type Copied = Map<string, { etag: string; size: number; sha256: string }>;

async function main(): Promise<void> {
  const config = loadConfig(backupConfigSchema);
  const started = new Date();
  const name = started.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const partial = join(config.BACKUP_DIR, `${name}.partial`);
  if (existsSync(join(config.BACKUP_DIR, name))) throw new Error(`${join(config.BACKUP_DIR, name)} exists already`);
  mkdirSync(join(partial, OBJECTS_DIR), { recursive: true });
  const store = createWorkspaceStore(config);
  try {
    const copied: Copied = new Map();
    const t0 = Date.now();
    await copyObjects(store, partial, copied);
    const objectsPass1 = Date.now() - t0;

    const databaseSnapshotAt = new Date();
    const client = mariadbClient(config.DATABASE_URL);
    try {
      // --routines/--triggers: the audit_events triggers (append-only) come back with the tables;
      // --hex-blob: binary columns (workspace_files.path) survive any client character set
      await run(
        'mariadb-dump',
        [...client.args, '--single-transaction', '--quick', '--routines', '--triggers', '--hex-blob', '--no-tablespaces', '--default-character-set=utf8mb4', client.database],
        { stdout: createWriteStream(join(partial, DATABASE_FILE)) },
      );
    } finally {
      client.dispose();
    }
    const databaseMs = Date.now() - databaseSnapshotAt.getTime();

    const redisSnapshotAt = new Date();
    await run('redis-cli', ['-u', config.REDIS_URL, '--no-auth-warning', '--rdb', join(partial, REDIS_FILE)]);
    const redisMs = Date.now() - redisSnapshotAt.getTime();

    const t1 = Date.now();
    await copyObjects(store, partial, copied);
    const objectsMs = objectsPass1 + Date.now() - t1;

    const manifest: Manifest = manifestSchema.parse({
      format: 1,
      started_at: started.toISOString(),
      finished_at: new Date().toISOString(),
      database_snapshot_at: databaseSnapshotAt.toISOString(),
      redis_snapshot_at: redisSnapshotAt.toISOString(),
      source: { database: redacted(config.DATABASE_URL), redis: redacted(config.REDIS_URL), store: store.uri('') },
      durations_ms: { database: databaseMs, redis: redisMs, objects: objectsMs, total: Date.now() - started.getTime() },
      files: await Promise.all([DATABASE_FILE, REDIS_FILE].map(async (f) => ({ name: f, ...(await digestOfFile(join(partial, f))) }))),
      objects: [...copied].map(([key, o]) => ({ key, size: o.size, sha256: o.sha256 })).sort((a, b) => (a.key < b.key ? -1 : 1)),
    });
    writeFileSync(join(partial, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
    // complete only now: a crash before this rename leaves a .partial that no restore picks
    renameSync(partial, join(config.BACKUP_DIR, name));
    const removed = applyRetention(config.BACKUP_DIR, name, config.BACKUP_KEEP, config.BACKUP_MAX_AGE_DAYS);
    const bytes = manifest.files.reduce((n, f) => n + f.size, 0) + manifest.objects.reduce((n, o) => n + o.size, 0);
    console.log(
      JSON.stringify({ backup: join(config.BACKUP_DIR, name), database_snapshot_at: manifest.database_snapshot_at, objects: manifest.objects.length, bytes, durations_ms: manifest.durations_ms, removed }),
    );
  } catch (e) {
    rmSync(partial, { recursive: true, force: true });
    throw e;
  } finally {
    store.close();
  }
}

/**
 * Copies every object not copied yet (or changed since: another etag) to objects/<sha256>, hashing it
 * on the way. An object gone between the listing and the read was deleted before the database
 * snapshot named it (pass 1) or is one of the race described above (pass 2): skipped either way.
 */
async function copyObjects(store: WorkspaceStore, dir: string, copied: Copied): Promise<void> {
  await eachLimited(store.list(''), OBJECT_COPIES, async (o) => {
    if (copied.get(o.key)?.etag === o.etag) return;
    const got = await store.get(o.key);
    if (!got) return;
    const tmp = join(dir, OBJECTS_DIR, `.${randomBytes(8).toString('hex')}`);
    const tee = new PassThrough();
    const [digest] = await Promise.all([digestOf(tee), pipeline(got.body, tee, createWriteStream(tmp))]);
    renameSync(tmp, join(dir, OBJECTS_DIR, digest.sha256));
    copied.set(o.key, { etag: got.etag, ...digest });
  });
}

/** Applies retention (`expiredBackups`) and removes stale `.partial` directories; returns what went. */
function applyRetention(root: string, newest: string, keep: number, maxAgeDays: number): string[] {
  const now = Date.now();
  const entries = readdirSync(root);
  const complete = entries.filter((e) => BACKUP_NAME.test(e) && existsSync(join(root, e, MANIFEST)));
  const removed = expiredBackups(complete, newest, keep, maxAgeDays, now);
  for (const e of entries) {
    if (e.endsWith('.partial') && BACKUP_NAME.test(e.slice(0, -'.partial'.length)) && now - statSync(join(root, e)).mtimeMs > PARTIAL_STALE_MS) removed.push(e);
  }
  for (const e of removed) rmSync(join(root, e), { recursive: true, force: true });
  return removed;
}

main().catch((e: Error) => {
  console.error(`backup: ${e.message}`);
  process.exit(1);
});
