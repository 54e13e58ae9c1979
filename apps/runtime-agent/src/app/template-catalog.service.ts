import { Injectable } from '@nestjs/common';
import { type RuntimeVersion, type Template } from '@sandbox/domain';
import { TemplateRepository } from '@sandbox/persistence';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';

/**
 * Templates as placement reads them (`TemplateRepository.findByIdCached`). Records what each
 * template's image runs (GET /v1/runtimes) from the first sandbox of it this agent starts.
 */
@Injectable()
export class TemplateCatalogService {
  /** Images whose runtimes this process recorded (or found recorded). */
  private readonly recorded = new Set<string>();

  constructor(
    private readonly templates: TemplateRepository,
    @InjectPinoLogger(TemplateCatalogService.name) private readonly log: PinoLogger,
  ) {}

  get(id: string): Promise<Template | null> {
    return this.templates.findByIdCached(id);
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
