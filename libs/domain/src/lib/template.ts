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
