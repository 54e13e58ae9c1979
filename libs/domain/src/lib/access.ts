import { createHash } from 'node:crypto';

export const API_KEY_SCOPES = ['admin', 'tenant'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

/** Recognisable in logs and secret scanners; 20 random bytes (160 bits) follow it as hex. */
const API_KEY_MARK = 'sbx_';
/** The start of a key kept in clear: it names the key in lists without revealing it. */
const API_KEY_PREFIX_LENGTH = API_KEY_MARK.length + 8;
const API_KEY_PATTERN = /^sbx_[0-9a-f]{40}$/;

export const TENANT_PATTERN = /^[a-z0-9][a-z0-9_-]{0,47}$/;

export interface ApiKey {
  readonly id: string;
  readonly prefix: string;
  readonly name: string;
  readonly scope: ApiKeyScope;
  readonly tenant: string;
  readonly createdBy: string | null;
  readonly expiresAt: Date | null;
  readonly revokedAt: Date | null;
  readonly lastUsedAt: Date | null;
  readonly createdAt: Date;
}

/** Random bytes from a source the caller owns (node:crypto's randomBytes): the domain does no I/O. */
export type RandomBytes = (size: number) => Uint8Array;

/** A new key: the secret is shown once, only its hash is stored; the id names it in the API and logs. */
export function generateApiKey(random: RandomBytes): { readonly id: string; readonly secret: string; readonly prefix: string; readonly hash: string } {
  const secret = `${API_KEY_MARK}${Buffer.from(random(20)).toString('hex')}`;
  return { id: `key_${Buffer.from(random(8)).toString('hex')}`, secret, prefix: secret.slice(0, API_KEY_PREFIX_LENGTH), hash: hashApiKey(secret) };
}

/** A plain sha256 suffices: the secret has 160 random bits, nothing to brute-force as with passwords. */
export function hashApiKey(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/**
 * The key of an `Authorization: Bearer <key>` header: undefined without the header, null when it is
 * there but not of that form.
 */
export function bearerToken(authorization: string | undefined): string | null | undefined {
  if (authorization === undefined) return undefined;
  return /^Bearer\s+(\S+)$/i.exec(authorization.trim())?.[1] ?? null;
}

export function looksLikeApiKey(secret: string): boolean {
  return API_KEY_PATTERN.test(secret);
}

/** Why a stored key is refused now, or null while it is good. */
export function apiKeyRefusal(key: ApiKey, now: Date): 'revoked' | 'expired' | null {
  if (key.revokedAt) return 'revoked';
  if (key.expiresAt && key.expiresAt.getTime() <= now.getTime()) return 'expired';
  return null;
}

/** Who makes a request: its key, that key's scope and tenant. */
export interface Principal {
  readonly keyId: string;
  readonly scope: ApiKeyScope;
  readonly tenant: string;
}

/** Admin keys see every tenant's sessions; tenant keys their own only. */
export function canAccess(principal: Principal, ownerTenant: string): boolean {
  return principal.scope === 'admin' || principal.tenant === ownerTenant;
}

/** The tenant whose rows a principal may list, or null for all of them. */
export function tenantFilter(principal: Principal): string | null {
  return principal.scope === 'admin' ? null : principal.tenant;
}

export const AUDIT_ACTIONS = [
  'session.create',
  'session.terminate',
  'session.update',
  'session.expire',
  'node.drain',
  'node.undrain',
  'api_key.create',
  'api_key.revoke',
  'audit.export',
  'audit.prune',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export type AuditDetailValue = string | number | boolean | null;

/** One line of the append-only audit log: ids and names only, never code, env values or keys. */
export interface AuditEvent {
  readonly actor: string;
  readonly tenant: string | null;
  readonly action: AuditAction;
  readonly targetType: 'session' | 'node' | 'api_key' | 'audit_log';
  readonly targetId: string;
  readonly outcome: string;
  readonly requestId?: string | null;
  readonly ip?: string | null;
  readonly detail?: Readonly<Record<string, AuditDetailValue>> | null;
}

export interface RecordedAuditEvent extends AuditEvent {
  readonly id: number;
  readonly occurredAt: Date;
}

/** sha256 of a request body in a stable key order: a retry with the same Idempotency-Key must match it. */
export function requestHash(body: unknown): string {
  return createHash('sha256').update(stableJson(body)).digest('hex');
}

function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${stableJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v ?? null);
}
