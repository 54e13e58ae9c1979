// API keys from the command line, straight in the database (DATABASE_URL): for the first admin key of a
// new installation, and for operators without one. The secret is printed once; only its hash is stored.
//   npm run api-key -- create --scope tenant --tenant acme --name "acme CI" [--expires-in-days 90]
//   npm run api-key -- list [--tenant acme]
//   npm run api-key -- revoke key_0123abcd…
//   npm run api-key -- dev FILE     the local stack's admin key: the one in FILE while valid, else a new one
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { API_KEY_SCOPES, type ApiKeyScope, apiKeyRefusal, generateApiKey, hashApiKey, TENANT_PATTERN } from '@sandbox/domain';
import { ApiKeyRepository, AuditRepository, dataSourceOptions } from '@sandbox/persistence';
import { DataSource } from 'typeorm';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { scope: { type: 'string' }, tenant: { type: 'string' }, name: { type: 'string' }, 'expires-in-days': { type: 'string' } },
});

function fail(message: string): never {
  console.error(`api-key: ${message}`);
  process.exit(2);
}

async function main(): Promise<void> {
  const url = process.env['DATABASE_URL'] ?? fail('DATABASE_URL is not set (source .stack/env for the local stack)');
  const ds = await new DataSource(dataSourceOptions(url, { poolSize: 1 })).initialize();
  const keys = new ApiKeyRepository(ds);
  const audit = new AuditRepository(ds);
  const create = async (scope: ApiKeyScope, tenant: string, name: string, expiresAt: Date | null) => {
    const { id, secret, prefix, hash } = generateApiKey(randomBytes);
    await keys.insert({ id, prefix, hash, name, scope, tenant, createdBy: null, expiresAt });
    await audit.append({ actor: 'cli', tenant: null, action: 'api_key.create', targetType: 'api_key', targetId: id, outcome: 'ok', detail: { prefix, scope, tenant } });
    return { id, secret };
  };
  try {
    const [command, arg] = positionals;
    if (command === 'create') {
      const scope = values.scope ?? fail('--scope admin|tenant is required');
      if (!(API_KEY_SCOPES as readonly string[]).includes(scope)) fail(`--scope must be one of ${API_KEY_SCOPES.join(', ')}`);
      const tenant = values.tenant ?? fail('--tenant is required');
      if (!TENANT_PATTERN.test(tenant)) fail('--tenant: lowercase letters, digits, "_" and "-", at most 48');
      const days = values['expires-in-days'] === undefined ? null : Number(values['expires-in-days']);
      if (days !== null && !(Number.isInteger(days) && days >= 1 && days <= 3650)) fail('--expires-in-days must be a whole number from 1 to 3650');
      const { id, secret } = await create(scope as ApiKeyScope, tenant, values.name ?? `${scope} key of ${tenant}`, days ? new Date(Date.now() + days * 86_400_000) : null);
      console.log(`created ${id} (${scope}, tenant ${tenant}); the key, shown this once:\n${secret}`);
    } else if (command === 'list') {
      for (const k of await keys.list(values.tenant)) {
        const state = apiKeyRefusal(k, new Date()) ?? 'active';
        console.log([k.id, `${k.prefix}…`, k.scope, k.tenant, state, k.name, `last used ${k.lastUsedAt?.toISOString() ?? 'never'}`].join('\t'));
      }
    } else if (command === 'revoke' && arg) {
      if (!(await keys.revoke(arg))) fail(`no active key '${arg}'`);
      await audit.append({ actor: 'cli', tenant: null, action: 'api_key.revoke', targetType: 'api_key', targetId: arg, outcome: 'ok' });
      console.log(`revoked ${arg}`);
    } else if (command === 'dev' && arg) {
      const kept = existsSync(arg) ? readFileSync(arg, 'utf8').trim() : '';
      const stored = kept ? await keys.findByHash(hashApiKey(kept)) : null;
      if (stored && !apiKeyRefusal(stored, new Date())) {
        console.log(kept);
      } else {
        const { secret } = await create('admin', 'dev', 'local development', null);
        writeFileSync(arg, `${secret}\n`, { mode: 0o600 });
        chmodSync(arg, 0o600);
        console.log(secret);
      }
    } else {
      fail('usage: create --scope admin|tenant --tenant T [--name N] [--expires-in-days D] | list [--tenant T] | revoke KEY_ID | dev FILE');
    }
  } finally {
    await ds.destroy();
  }
}

main().catch((e: unknown) => fail(e instanceof Error ? e.message : String(e)));
