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
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** Every image carries bash next to its own interpreter. */
export function languagesOf(template: Pick<Template, 'language'>): readonly Language[] {
  return template.language === 'bash' ? ['bash'] : [template.language, 'bash'];
}

export function isLanguage(value: string): value is Language {
  return (LANGUAGES as readonly string[]).includes(value);
}
