import { DEFAULT_WORKSPACE_LIMITS, type WorkspaceLimits } from './workspace';

export const LANGUAGES = ['python', 'javascript', 'bash', 'c', 'cpp'] as const;
export type Language = (typeof LANGUAGES)[number];

export interface Template {
  readonly id: string;
  readonly name: string;
  readonly image: string;
  readonly baseImage: string | null;
  /** Language of executions that name none. */
  readonly language: Language;
  readonly preInstalledPackages: readonly string[];
  readonly defaultResources: { readonly cpu: string | null; readonly memory: string | null; readonly disk: string | null };
  readonly securityContext: Readonly<Record<string, unknown>> | null;
  /** templates.limits: per-template overrides of the platform's defaults (snake_case keys). */
  readonly limits: TemplateLimits;
  /** Its image's languages and versions, once an agent started a sandbox of it; null before. */
  readonly runtimes: TemplateRuntimes | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/**
 * templates.limits: what a session of the template gets, and the most a request may ask for. Every
 * key is optional; the platform's defaults (agent and control-plane settings) fill the gaps.
 */
export interface TemplateLimits {
  /** Largest resources a session may ask for (quantities like the defaults: "2", "2Gi"). */
  readonly max_cpu?: string;
  readonly max_memory?: string;
  readonly max_disk?: string;
  /** Processes and threads of the sandbox. */
  readonly pids?: number;
  readonly nofile?: number;
  /** Largest file a program may write. */
  readonly fsize_bytes?: number;
  /** Output kept per stream; the program is stopped past it. */
  readonly output_bytes?: number;
  readonly timeout_default_seconds?: number;
  readonly timeout_max_seconds?: number;
  /** Outbound network (to the internet only; never the host, private ranges or metadata). */
  readonly network?: boolean;
  readonly max_file_bytes?: number;
  readonly max_workspace_bytes?: number;
  readonly max_files?: number;
  readonly inline_max_bytes?: number;
  /** A rich result representation larger than this goes to the store and comes back by URL. */
  readonly result_inline_bytes?: number;
  /** All rich results of one execution. */
  readonly results_max_bytes?: number;
}

/** What a session of this template may keep in its workspace. */
export function workspaceLimitsOf(template: Pick<Template, 'limits'>): WorkspaceLimits {
  const l = template.limits;
  const d = DEFAULT_WORKSPACE_LIMITS;
  return {
    maxFileBytes: l.max_file_bytes ?? d.maxFileBytes,
    maxWorkspaceBytes: l.max_workspace_bytes ?? d.maxWorkspaceBytes,
    maxFiles: l.max_files ?? d.maxFiles,
    inlineMaxBytes: l.inline_max_bytes ?? d.inlineMaxBytes,
  };
}

/** Other names a request may give a language by (as Piston's runtimes have aliases). */
export const LANGUAGE_ALIASES: Readonly<Record<Language, readonly string[]>> = {
  python: ['py', 'python3'],
  javascript: ['js', 'node', 'nodejs'],
  bash: ['sh'],
  c: ['gcc'],
  cpp: ['c++', 'g++'],
};

/** The language a name or alias stands for; the name itself when it is neither. */
export function canonicalLanguage(name: string): string {
  const lower = name.toLowerCase();
  return (LANGUAGES as readonly string[]).includes(lower) ? lower : (LANGUAGES.find((l) => LANGUAGE_ALIASES[l].includes(lower)) ?? name);
}

/** A language an image runs, at the version its own command says (probed when the image was built). */
export interface RuntimeVersion {
  readonly language: Language;
  readonly version: string;
  /** The interpreter or compiler: CPython, Node.js, GNU Bash, GCC. */
  readonly runtime: string;
}

/** What a template's image was found to run: recorded by an agent from a sandbox of that image. */
export interface TemplateRuntimes {
  readonly image: string;
  readonly languages: readonly RuntimeVersion[];
}

/** Languages compiled before they run (C and C++: gcc and g++ in the same image). */
export const COMPILED_LANGUAGES: readonly Language[] = ['c', 'cpp'];

/** Every image carries bash next to its own interpreter; a C image carries C++ too. */
export function languagesOf(template: Pick<Template, 'language'>): readonly Language[] {
  if (template.language === 'bash') return ['bash'];
  if (COMPILED_LANGUAGES.includes(template.language)) return [template.language, ...COMPILED_LANGUAGES.filter((l) => l !== template.language), 'bash'];
  return [template.language, 'bash'];
}

export function isLanguage(value: string): value is Language {
  return (LANGUAGES as readonly string[]).includes(value);
}

/** A language a template offers, at its image's version (null until a sandbox of the image said it). */
export interface OfferedRuntime {
  readonly language: Language;
  readonly version: string | null;
  readonly runtime: string | null;
  readonly aliases: readonly string[];
  readonly compiled: boolean;
}

/** Every language the template offers, with what its current image runs of each. */
export function runtimesOf(template: Pick<Template, 'language' | 'image' | 'runtimes'>): OfferedRuntime[] {
  const seen = template.runtimes?.image === template.image ? template.runtimes.languages : [];
  return languagesOf(template).map((language) => {
    const found = seen.find((r) => r.language === language);
    return { language, version: found?.version ?? null, runtime: found?.runtime ?? null, aliases: LANGUAGE_ALIASES[language], compiled: COMPILED_LANGUAGES.includes(language) };
  });
}
