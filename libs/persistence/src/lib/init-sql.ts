/**
 * init.sql as one multi-statement query for `database`: its `sandbox` names replaced, its `DELIMITER`
 * lines gone. Used by `npm run migrate` on a database with no tables, and by the test databases.
 */
export function initScriptFor(sql: string, database: string): string {
  return withoutDelimiters(sql)
    .replace(/^CREATE DATABASE IF NOT EXISTS sandbox /m, `CREATE DATABASE IF NOT EXISTS \`${database}\` `)
    .replace(/^USE sandbox;/m, `USE \`${database}\`;`);
}

/**
 * `DELIMITER` is a command of the mysql client (which splits a script at every `;`), not SQL: the
 * server parses a trigger's body whole when the script comes as one multi-statement query, so the
 * lines go and each custom delimiter ending a statement becomes `;`.
 */
function withoutDelimiters(sql: string): string {
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
