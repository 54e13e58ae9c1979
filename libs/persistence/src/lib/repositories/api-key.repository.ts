import { type ApiKey, apiKeyRefusal, type ApiKeyScope, bearerToken, hashApiKey, looksLikeApiKey } from '@sandbox/domain';
import { type DataSource, IsNull, type Repository } from 'typeorm';
import { ApiKeyEntity } from '../entities/api-key.entity';
import { toApiKey } from '../mappers';

export interface NewApiKey {
  readonly id: string;
  readonly prefix: string;
  readonly hash: string;
  readonly name: string;
  readonly scope: ApiKeyScope;
  readonly tenant: string;
  readonly createdBy: string | null;
  readonly expiresAt: Date | null;
}

export class ApiKeyRepository {
  private readonly repo: Repository<ApiKeyEntity>;

  constructor(ds: DataSource) {
    this.repo = ds.getRepository(ApiKeyEntity);
  }

  async insert(k: NewApiKey): Promise<ApiKey> {
    await this.repo.insert({ id: k.id, prefix: k.prefix, keyHash: k.hash, name: k.name, scope: k.scope, tenant: k.tenant, createdBy: k.createdBy, expiresAt: k.expiresAt });
    return toApiKey(await this.repo.findOneByOrFail({ id: k.id }));
  }

  async findByHash(hash: string): Promise<ApiKey | null> {
    const e = await this.repo.findOneBy({ keyHash: hash });
    return e ? toApiKey(e) : null;
  }

  async findById(id: string): Promise<ApiKey | null> {
    const e = await this.repo.findOneBy({ id });
    return e ? toApiKey(e) : null;
  }

  /** Newest first; a tenant's keys only when one is given. */
  async list(tenant?: string): Promise<ApiKey[]> {
    const rows = await this.repo.find({ where: tenant ? { tenant } : {}, order: { createdAt: 'DESC', id: 'DESC' } });
    return rows.map(toApiKey);
  }

  /** True when this call revoked it (false: unknown or revoked before). */
  async revoke(id: string): Promise<boolean> {
    const r = await this.repo.update({ id, revokedAt: IsNull() }, { revokedAt: () => 'CURRENT_TIMESTAMP' });
    return r.affected === 1;
  }

  /** True for an `Authorization: Bearer <key>` header of a valid admin key (the agent's and reaper's /metrics). */
  async isAdminBearer(authorization: string | undefined): Promise<boolean> {
    const secret = bearerToken(authorization);
    if (!secret || !looksLikeApiKey(secret)) return false;
    const key = await this.findByHash(hashApiKey(secret));
    return key?.scope === 'admin' && !apiKeyRefusal(key, new Date());
  }

  /** At most one write per key and minute: last_used_at is a hint, not a request log. */
  async touch(id: string): Promise<void> {
    await this.repo
      .createQueryBuilder()
      .update()
      .set({ lastUsedAt: () => 'CURRENT_TIMESTAMP' })
      .where('id = :id AND (last_used_at IS NULL OR last_used_at < NOW() - INTERVAL 1 MINUTE)', { id })
      .execute();
  }
}
