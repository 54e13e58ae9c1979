import { LANGUAGES, languagesOf, runtimesOf, type Template } from '@sandbox/domain';
import { createZodDto } from '../http/zod-dto';
import { z } from 'zod';

const offeredRuntime = z.object({
  language: z.enum(LANGUAGES),
  version: z.string().nullable().describe("as the image's own command says it (python3 --version, gcc -dumpfullversion, …) when the image was built; null until a sandbox of this image has started"),
  runtime: z.string().nullable().describe('the interpreter or compiler: CPython, Node.js, GNU Bash, GCC'),
  aliases: z.array(z.string()).describe('other names an execution may give the language by'),
  compiled: z.boolean().describe('compiled once per execution before it runs (C, C++)'),
});

export const templateResponse = z.object({
  id: z.string(),
  name: z.string(),
  image: z.string(),
  base_image: z.string().nullable(),
  language: z.enum(LANGUAGES).describe('language of executions that name none'),
  languages: z.array(z.enum(LANGUAGES)).describe('languages an execution may name'),
  runtimes: z.array(offeredRuntime).describe('each language with its version in this image'),
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

const runtimeEntry = offeredRuntime.extend({ template_id: z.string().describe('the template to create a session of for it') });
export class RuntimeListResponseDto extends createZodDto(z.object({ items: z.array(runtimeEntry).describe('every language of every template, by template then language') })) {}

export function runtimeEntries(templates: readonly Template[]): z.infer<typeof runtimeEntry>[] {
  return templates.flatMap((t) => runtimesOf(t).map((r) => ({ ...r, aliases: [...r.aliases], template_id: t.id })));
}

export function templateToResponse(t: Template): z.infer<typeof templateResponse> {
  return {
    id: t.id,
    name: t.name,
    image: t.image,
    base_image: t.baseImage,
    language: t.language,
    languages: [...languagesOf(t)],
    runtimes: runtimesOf(t).map((r) => ({ ...r, aliases: [...r.aliases] })),
    pre_installed_packages: [...t.preInstalledPackages],
    default_resources_cpu: t.defaultResources.cpu,
    default_resources_memory: t.defaultResources.memory,
    default_resources_disk: t.defaultResources.disk,
    limits: { ...t.limits },
    created_at: t.createdAt.toISOString(),
    updated_at: t.updatedAt.toISOString(),
  };
}
