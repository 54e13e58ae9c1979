import { randomBytes } from 'node:crypto';
import { apiKeyRefusal, canAccess, generateApiKey, hashApiKey, looksLikeApiKey, requestHash, tenantFilter, TENANT_PATTERN, type ApiKey } from './access';

describe('API keys', () => {
  it('are 160 random bits behind a recognisable mark; only the prefix and the hash are kept', () => {
    const a = generateApiKey(randomBytes);
    const b = generateApiKey(randomBytes);
    expect(a.secret).toMatch(/^sbx_[0-9a-f]{40}$/);
    expect(a.secret).not.toBe(b.secret);
    expect(a.prefix).toBe(a.secret.slice(0, 12));
    expect(a.hash).toBe(hashApiKey(a.secret));
    expect(a.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(a.id).toMatch(/^key_[0-9a-f]{16}$/);
  });

  it('take their bits from the source given: the same bytes make the same key', () => {
    const zeros = (n: number) => new Uint8Array(n);
    expect(generateApiKey(zeros)).toEqual(generateApiKey(zeros));
    expect(generateApiKey(zeros).secret).toBe(`sbx_${'0'.repeat(40)}`);
  });

  it.each([['sbx_' + 'a'.repeat(40), true], ['sbx_' + 'a'.repeat(39), false], ['sbx_' + 'A'.repeat(40), false], ['Bearer x', false], ['', false]])(
    'recognises %j as a key: %s',
    (s, ok) => expect(looksLikeApiKey(s)).toBe(ok),
  );

  const key = (extra: Partial<ApiKey>): ApiKey => ({
    id: 'key_1',
    prefix: 'sbx_00000000',
    name: 'k',
    scope: 'tenant',
    tenant: 'acme',
    createdBy: null,
    expiresAt: null,
    revokedAt: null,
    lastUsedAt: null,
    createdAt: new Date(0),
    ...extra,
  });
  const now = new Date('2026-01-01T00:00:00Z');

  it('refuses a revoked key, and an expired one from its expiry instant on', () => {
    expect(apiKeyRefusal(key({}), now)).toBeNull();
    expect(apiKeyRefusal(key({ revokedAt: new Date(0) }), now)).toBe('revoked');
    expect(apiKeyRefusal(key({ expiresAt: new Date(now.getTime() + 1) }), now)).toBeNull();
    expect(apiKeyRefusal(key({ expiresAt: now }), now)).toBe('expired');
  });
});

describe('tenancy', () => {
  const tenant = { keyId: 'k', scope: 'tenant' as const, tenant: 'acme' };
  const admin = { keyId: 'a', scope: 'admin' as const, tenant: 'ops' };

  it('lets a tenant key reach its own tenant only, an admin key every tenant', () => {
    expect(canAccess(tenant, 'acme')).toBe(true);
    expect(canAccess(tenant, 'other')).toBe(false);
    expect(canAccess(admin, 'other')).toBe(true);
    expect(tenantFilter(tenant)).toBe('acme');
    expect(tenantFilter(admin)).toBeNull();
  });

  it.each([['acme', true], ['a', true], ['a'.repeat(48), true], ['a'.repeat(49), false], ['Acme', false], ['-x', false], ['a b', false]])('tenant %j valid: %s', (t, ok) =>
    expect(TENANT_PATTERN.test(t)).toBe(ok),
  );
});

describe('requestHash', () => {
  it('ignores key order and undefined fields, and tells different bodies apart', () => {
    expect(requestHash({ a: 1, b: { c: [1, 2], d: 'x' } })).toBe(requestHash({ b: { d: 'x', c: [1, 2] }, a: 1, e: undefined }));
    expect(requestHash({ code: 'print(1)' })).not.toBe(requestHash({ code: 'print(2)' }));
    expect(requestHash({ a: [1, 2] })).not.toBe(requestHash({ a: [2, 1] }));
  });
});
