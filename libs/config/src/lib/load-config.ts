import { type z } from 'zod';

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Validates the environment once into a typed, frozen object. Refuses to start with one error that
 * lists every bad variable, not just the first.
 */
export function loadConfig<S extends z.ZodType>(schema: S, source: Record<string, string | undefined> = process.env): Readonly<z.output<S>> {
  const result = schema.safeParse(source);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((issue) => `${issue.path.join('.') || '(env)'}: ${issue.message}`));
  }
  return Object.freeze(result.data);
}
