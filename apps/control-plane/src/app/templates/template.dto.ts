import { LANGUAGES, languagesOf, type Template } from '@sandbox/domain';
import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';

export const templateResponse = z.object({
  id: z.string(),
  name: z.string(),
  image: z.string(),
  base_image: z.string().nullable(),
  language: z.enum(LANGUAGES).describe('language of executions that name none'),
  languages: z.array(z.enum(LANGUAGES)).describe('languages an execution may name'),
  pre_installed_packages: z.array(z.string()),
  default_resources_cpu: z.string().nullable(),
  default_resources_memory: z.string().nullable(),
  default_resources_disk: z.string().nullable(),
  limits: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).describe('per-template limits and the maximums a request may ask for'),
  created_at: z.string(),
  updated_at: z.string(),
});
export class TemplateResponseDto extends createZodDto(templateResponse) {}
export class TemplateListResponseDto extends createZodDto(z.object({ items: z.array(templateResponse) })) {}

export function templateToResponse(t: Template): z.infer<typeof templateResponse> {
  return {
    id: t.id,
    name: t.name,
    image: t.image,
    base_image: t.baseImage,
    language: t.language,
    languages: [...languagesOf(t)],
    pre_installed_packages: [...t.preInstalledPackages],
    default_resources_cpu: t.defaultResources.cpu,
    default_resources_memory: t.defaultResources.memory,
    default_resources_disk: t.defaultResources.disk,
    limits: { ...t.limits },
    created_at: t.createdAt.toISOString(),
    updated_at: t.updatedAt.toISOString(),
  };
}
