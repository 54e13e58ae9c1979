import { Injectable } from '@nestjs/common';
import { type RuntimeVersion, type Template } from '@sandbox/domain';
import { TemplateRepository } from '@sandbox/persistence';
import { LRUCache } from 'lru-cache';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';

/**
 * Templates change rarely and are read on every placement: each is trusted for a minute. Records what
 * each template's image runs (GET /v1/runtimes) from the first sandbox of it this agent starts.
 */
@Injectable()
export class TemplateCatalogService {
  // a wrapper object: the cache keeps no null values, and "no such template" is worth keeping too
  private readonly cache: LRUCache<string, { template: Template | null }>;
  /** Images whose runtimes this process recorded (or found recorded). */
  private readonly recorded = new Set<string>();

  constructor(
    private readonly templates: TemplateRepository,
    @InjectPinoLogger(TemplateCatalogService.name) private readonly log: PinoLogger,
  ) {
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

  /**
   * What a new sandbox of `templateId`, started from `image`, said its image runs: written once per
   * image and process, best effort (the versions are for clients to read, nothing depends on them).
   */
  noteRuntimes(templateId: string, image: string, languages: readonly RuntimeVersion[]): void {
    const key = `${templateId}\n${image}`;
    if (!languages.length || this.recorded.has(key)) return;
    this.recorded.add(key);
    this.templates
      .recordRuntimes(templateId, { image, languages })
      .then((changed) => changed && this.log.info({ template_id: templateId, image, languages }, "recorded the template image's runtimes"))
      .catch((e) => {
        this.recorded.delete(key);
        this.log.warn({ template_id: templateId, err: e }, "cannot record the template image's runtimes");
      });
  }
}
