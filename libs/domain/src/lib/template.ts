import { DEFAULT_WORKSPACE_LIMITS, type WorkspaceLimits } from './workspace';

export const LANGUAGES = ['python', 'javascript', 'bash'] as const;
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

export interface TemplateLimits {
  readonly max_file_bytes?: number;
  readonly max_workspace_bytes?: number;
  readonly max_files?: number;
  readonly inline_max_bytes?: number;
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

/** Every image carries bash next to its own interpreter. */
export function languagesOf(template: Pick<Template, 'language'>): readonly Language[] {
  return template.language === 'bash' ? ['bash'] : [template.language, 'bash'];
}

export function isLanguage(value: string): value is Language {
  return (LANGUAGES as readonly string[]).includes(value);
}
