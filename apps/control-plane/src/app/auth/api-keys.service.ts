import { randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { type ApiKey, apiKeyRefusal, type ApiKeyScope, bearerToken, generateApiKey, hashApiKey, looksLikeApiKey, type Principal } from '@sandbox/domain';
import { ApiKeyRepository } from '@sandbox/persistence';
import { LRUCache } from 'lru-cache';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { CONTROL_PLANE_CONFIG, type ControlPlaneConfig } from '../control-plane.config';
import { ApiError } from '../http/api-error';

// bounded: unknown hashes are cached too, so a flood of guesses evicts the oldest, never grows memory
const CACHED_KEYS = 10_000;
const TOUCH_EVERY_MS = 60_000;

/** Looks up keys by hash, briefly cached so a request costs no extra database read. */
@Injectable()
export class ApiKeysService {
  /** Looked-up keys by hash (null: no such key), each trusted for API_KEY_CACHE_MS. */
  private readonly cache: LRUCache<string, { key: ApiKey | null }> | null;
  /** Keys whose use this process recorded in the last minute: last_used_at is written at most once a minute. */
  private readonly touched = new LRUCache<string, true>({ max: CACHED_KEYS, ttl: TOUCH_EVERY_MS });

  constructor(
    @Inject(CONTROL_PLANE_CONFIG) config: ControlPlaneConfig,
    private readonly keys: ApiKeyRepository,
    @InjectPinoLogger(ApiKeysService.name) private readonly log: PinoLogger,
  ) {
    this.cache = config.API_KEY_CACHE_MS > 0 ? new LRUCache({ max: CACHED_KEYS, ttl: config.API_KEY_CACHE_MS }) : null;
  }

  /**
   * The principal of an Authorization header; 401 saying why (never which part of a guess was right),
   * 403 when `admin` is required and the key is a tenant's.
   */
  async authenticate(authorization: string | undefined, admin = false): Promise<Principal> {
    const secret = bearerToken(authorization);
    if (secret === null) throw ApiError.unauthorized('invalid_authorization', 'the Authorization header must be "Bearer <key>"');
    if (!secret) throw ApiError.unauthorized('missing_api_key', 'send an API key as "Authorization: Bearer <key>"');
    const key = looksLikeApiKey(secret) ? await this.lookup(hashApiKey(secret)) : null;
    if (!key) throw ApiError.unauthorized('invalid_api_key', 'the API key is not valid');
    const refusal = apiKeyRefusal(key, new Date());
    if (refusal) throw ApiError.unauthorized(`${refusal}_api_key`, `the API key '${key.prefix}…' is ${refusal}`);
    if (admin && key.scope !== 'admin') throw new ApiError(403, 'forbidden', 'this operation needs an API key of the admin scope');
    // a hint for operators, kept off the request's path
    if (!this.touched.has(key.id)) {
      this.touched.set(key.id, true);
      this.keys.touch(key.id).catch((e) => this.log.warn({ err: e, key_id: key.id }, 'cannot record key use'));
    }
    return { keyId: key.id, scope: key.scope, tenant: key.tenant };
  }

  async create(input: { name: string; scope: ApiKeyScope; tenant: string; expiresAt: Date | null }, createdBy: string | null): Promise<{ key: ApiKey; secret: string }> {
    const { id, secret, prefix, hash } = generateApiKey(randomBytes);
    const key = await this.keys.insert({ id, prefix, hash, createdBy, ...input });
    return { key, secret };
  }

  list(tenant?: string): Promise<ApiKey[]> {
    return this.keys.list(tenant);
  }

  /** Revokes at once on this control plane; others notice within API_KEY_CACHE_MS. */
  async revoke(id: string): Promise<ApiKey> {
    const key = await this.keys.findById(id);
    if (!key) throw ApiError.notFound('api key', id);
    await this.keys.revoke(id);
    for (const [hash, entry] of this.cache?.entries() ?? []) if (entry.key?.id === id) this.cache?.delete(hash);
    return (await this.keys.findById(id))!;
  }

  private async lookup(hash: string): Promise<ApiKey | null> {
    const hit = this.cache?.get(hash);
    if (hit) return hit.key;
    const key = await this.keys.findByHash(hash);
    this.cache?.set(hash, { key });
    return key;
  }
}
