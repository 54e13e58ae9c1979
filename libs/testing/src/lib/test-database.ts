import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
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
  const sql = readFileSync(file, 'utf8');
  return withoutDelimiters(sql)
    .replace(/^CREATE DATABASE IF NOT EXISTS sandbox /m, `CREATE DATABASE IF NOT EXISTS \`${database}\` `)
    .replace(/^USE sandbox;/m, `USE \`${database}\`;`);
}

/**
 * `DELIMITER` is a command of the mysql client (which splits a script at every `;`), not SQL: the
 * server parses a trigger's body whole when the script comes as one multi-statement query, so the
 * lines go and each custom delimiter ending a statement becomes `;`.
 */
export function withoutDelimiters(sql: string): string {
  let delimiter = ';';
  const out: string[] = [];
  for (const line of sql.split('\n')) {
    const set = /^DELIMITER\s+(\S+)\s*$/i.exec(line);
    if (set) delimiter = set[1]!;
    else if (delimiter !== ';' && line.trimEnd().endsWith(delimiter)) out.push(`${line.trimEnd().slice(0, -delimiter.length)};`);
    else out.push(line);
  }
  return out.join('\n');
}

/** A fresh database holding exactly init.sql (or `schemaFile`), on the real MariaDB of the local stack (or the one given). */
export async function createTestDatabase(label: string, adminUrl = stackEnv().DATABASE_URL, schemaFile?: string): Promise<TestDatabase> {
  const base = new URL(adminUrl);
  const name = `t_${label.replace(/[^a-z0-9]/gi, '_').slice(0, 30)}_${randomBytes(4).toString('hex')}`;
  const admin = await connect(base);
  try {
    await admin.query(initSqlFor(name, schemaFile));
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
