import { Injectable } from '@nestjs/common';
import { type Template } from '@sandbox/domain';
import { TemplateRepository } from '@sandbox/persistence';
import { LRUCache } from 'lru-cache';

/** Templates change rarely and are read on every placement: each is trusted for a minute. */
@Injectable()
export class TemplateCatalogService {
  // a wrapper object: the cache keeps no null values, and "no such template" is worth keeping too
  private readonly cache: LRUCache<string, { template: Template | null }>;

  constructor(templates: TemplateRepository) {
    this.cache = new LRUCache({
      max: 1000,
      ttl: 60_000,
      // concurrent misses of one template make one database read
      fetchMethod: async (id) => ({ template: await templates.findById(id) }),
    });
  }

  async get(id: string): Promise<Template | null> {
    return (await this.cache.fetch(id))?.template ?? null;
  }
}
