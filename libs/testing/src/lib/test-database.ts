import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { initScriptFor } from '@sandbox/persistence';
import { createConnection } from 'mysql2/promise';
import { REPO_ROOT, stackEnv } from './stack';

export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  drop(): Promise<void>;
}

/**
 * init.sql with its database name replaced, so every suite loads the schema of record into its own
 * database; or another script of that form (the migrations' baseline: the last release's init.sql).
 */
export function initSqlFor(database: string, file = join(REPO_ROOT, 'init.sql')): string {
  return initScriptFor(readFileSync(file, 'utf8'), database);
}

/**
 * A fresh database holding exactly init.sql (or `schemaFile`; null: no tables at all), on the real
 * MariaDB of the local stack (or the one given).
 */
export async function createTestDatabase(label: string, adminUrl = stackEnv().DATABASE_URL, schemaFile?: string | null): Promise<TestDatabase> {
  const base = new URL(adminUrl);
  const name = `t_${label.replace(/[^a-z0-9]/gi, '_').slice(0, 30)}_${randomBytes(4).toString('hex')}`;
  const admin = await connect(base);
  try {
    await admin.query(schemaFile === null ? `CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci` : initSqlFor(name, schemaFile));
  } finally {
    await admin.end();
  }
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    async drop() {
      const conn = await connect(base);
      try {
        await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
      } finally {
        await conn.end();
      }
    },
  };
}

function connect(url: URL) {
  return createConnection({
    host: url.hostname,
    port: Number(url.port || 3306),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    multipleStatements: true,
  });
}
