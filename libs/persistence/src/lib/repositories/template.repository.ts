import { type Template, type TemplateRuntimes } from '@sandbox/domain';
import { LRUCache } from 'lru-cache';
import { type DataSource, type Repository } from 'typeorm';
import { TemplateEntity } from '../entities/template.entity';
import { toTemplate } from '../mappers';

// templates change rarely (an operator's SQL, a migration) and are read on every execution
const TEMPLATE_TRUST_MS = 10_000;

export class TemplateRepository {
  private readonly repo: Repository<TemplateEntity>;
  /** Found templates only: one added a moment ago is found at once; concurrent misses make one read. */
  private readonly recent = new LRUCache<string, Template>({ max: 1000, ttl: TEMPLATE_TRUST_MS, fetchMethod: async (id) => (await this.findById(id)) ?? undefined });

  constructor(ds: DataSource) {
    this.repo = ds.getRepository(TemplateEntity);
  }

  /** The template as read within the last TEMPLATE_TRUST_MS: what admission and placement use. */
  async findByIdCached(id: string): Promise<Template | null> {
    return (await this.recent.fetch(id)) ?? null;
  }

  async findAll(): Promise<Template[]> {
    return (await this.repo.find({ order: { id: 'ASC' } })).map(toTemplate);
  }

  async findById(id: string): Promise<Template | null> {
    const e = await this.repo.findOneBy({ id });
    return e ? toTemplate(e) : null;
  }

  /**
   * Records what a sandbox of `runtimes.image` said its image runs, while the template still uses that
   * image (an operator may have moved it on). True when the row changed.
   */
  async recordRuntimes(id: string, runtimes: TemplateRuntimes): Promise<boolean> {
    // MariaDB keeps JSON as the text written, and this is the only writer: equal text, equal value
    const json = JSON.stringify(runtimes);
    const r: { affectedRows: number } = await this.repo.query('UPDATE templates SET runtimes = ?, updated_at = updated_at WHERE id = ? AND image = ? AND NOT (runtimes <=> ?)', [
      json,
      id,
      runtimes.image,
      json,
    ]);
    return r.affectedRows === 1;
  }
}
