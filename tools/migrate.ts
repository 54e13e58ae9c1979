// Brings the database (DATABASE_URL) to this build's schema: its own step before the apps start, never
// a side effect of starting one (docs/architecture.md, "Schema and migrations"). A database with no
// tables is made from init.sql instead (INIT_SQL, else ./init.sql: the repository root, /app in the
// image), which records it as migrated.
//   npm run migrate                 make a new database, or run the pending migrations, oldest first, and say which
//   npm run migrate -- status       applied, pending and unknown (newer) migrations
//   npm run migrate -- revert       undo the newest applied migration (before going back to the previous build)
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { dataSourceOptions, makeSchema, migrateSchema, revertLastMigration, schemaStatus } from '@sandbox/persistence';
import { DataSource } from 'typeorm';

const { positionals } = parseArgs({ allowPositionals: true, options: {} });

function fail(message: string): never {
  console.error(`migrate: ${message}`);
  process.exit(1);
}

async function main(): Promise<void> {
  const url = process.env['DATABASE_URL'] ?? fail('DATABASE_URL is not set (source .stack/env for the local stack)');
  const database = new URL(url).pathname.slice(1);
  // two connections: one holds the run's lock, one runs the DDL; no query timeout, a table rebuild takes what it takes
  const ds = await new DataSource(dataSourceOptions(url, { poolSize: 2, queryTimeoutMs: 0, multipleStatements: true })).initialize();
  try {
    const [command = 'up'] = positionals;
    if (command === 'up') {
      const started = Date.now();
      if (await makeSchema(ds, readInitSql)) {
        const { applied: all } = await schemaStatus(ds);
        console.log(`database '${database}': made from init.sql in ${((Date.now() - started) / 1000).toFixed(1)} s, at ${all.at(-1) ?? 'no migration'}`);
        return;
      }
      const applied = await migrateSchema(ds);
      for (const name of applied) console.log(`applied ${name}`);
      const { applied: all } = await schemaStatus(ds);
      console.log(
        applied.length
          ? `database '${database}': ${applied.length} migration(s) applied in ${((Date.now() - started) / 1000).toFixed(1)} s, now at ${all.at(-1)}`
          : `database '${database}': up to date${all.length ? ` at ${all.at(-1)}` : ''}`,
      );
    } else if (command === 'status') {
      const s = await schemaStatus(ds);
      if (!s.hasSchema) fail(`database '${database}' has no tables (\`up\` makes it from init.sql)`);
      for (const name of s.applied) console.log(`${s.unknown.includes(name) ? 'unknown' : 'applied'}\t${name}`);
      for (const name of s.pending) console.log(`pending\t${name}`);
    } else if (command === 'revert') {
      const undone = await revertLastMigration(ds);
      console.log(undone ? `reverted ${undone}` : `database '${database}': no migration to revert`);
    } else {
      fail('usage: [up] | status | revert');
    }
  } finally {
    await ds.destroy();
  }
}

function readInitSql(): string {
  const file = resolve(process.env['INIT_SQL'] ?? 'init.sql');
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    return fail(`cannot read ${file} (INIT_SQL): ${e instanceof Error ? e.message : String(e)}`);
  }
}

main().catch((e: unknown) => fail(e instanceof Error ? e.message : String(e)));
