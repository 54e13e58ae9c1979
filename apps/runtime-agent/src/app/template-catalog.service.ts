import { Injectable } from '@nestjs/common';
import { type Template } from '@sandbox/domain';
import { TemplateRepository } from '@sandbox/persistence';

const TTL_MS = 60_000;

/** Templates change rarely and are read on every placement: cache them for a minute. */
@Injectable()
export class TemplateCatalogService {
  private readonly cache = new Map<string, { template: Template | null; at: number }>();

  constructor(private readonly templates: TemplateRepository) {}

  async get(id: string): Promise<Template | null> {
    const hit = this.cache.get(id);
    if (hit && Date.now() - hit.at < TTL_MS) return hit.template;
    const template = await this.templates.findById(id);
    this.cache.set(id, { template, at: Date.now() });
    return template;
  }
}
