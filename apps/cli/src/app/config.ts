import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from './output';

export const DEFAULT_URL = 'http://127.0.0.1:8000';

/** Where the CLI connects and with which key. */
export interface CliConfig {
  readonly url: string;
  readonly apiKey: string;
}

export interface ConfigSources {
  readonly flags: { readonly url?: string; readonly apiKey?: string };
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly home?: string;
}

/** The config file: $SANDBOX_CONFIG, else $XDG_CONFIG_HOME/sandbox/config.json, else ~/.config/sandbox/config.json. */
export function configFilePath(env: ConfigSources['env'], home = homedir()): string {
  return env['SANDBOX_CONFIG'] || join(env['XDG_CONFIG_HOME'] || join(home, '.config'), 'sandbox', 'config.json');
}

/**
 * Flags win over the environment (SANDBOX_URL, SANDBOX_API_KEY), which wins over the config file
 * ({"url", "api_key"}); a missing file is no error, an unreadable one is.
 */
export function resolveConfig({ flags, env, home }: ConfigSources): CliConfig {
  const path = configFilePath(env, home);
  let file: { url?: unknown; api_key?: unknown } = {};
  let text: string | null = null;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as { code?: string }).code !== 'ENOENT') throw new UsageError(`cannot read the config file ${path}: ${(e as Error).message}`);
  }
  if (text !== null) {
    try {
      file = JSON.parse(text) as typeof file;
    } catch (e) {
      throw new UsageError(`the config file ${path} is not JSON: ${(e as Error).message}`);
    }
    if (typeof file !== 'object' || file === null || Array.isArray(file)) throw new UsageError(`the config file ${path} must hold an object like {"url": "…", "api_key": "…"}`);
  }
  const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
  const url = flags.url || env['SANDBOX_URL'] || str(file.url) || DEFAULT_URL;
  const apiKey = flags.apiKey || env['SANDBOX_API_KEY'] || str(file.api_key);
  if (!apiKey) throw new UsageError(`no API key: pass --api-key, set SANDBOX_API_KEY, or put {"api_key": "…"} in ${path}`);
  if (!/^https?:\/\/[^\s]+$/.test(url)) throw new UsageError(`the API URL '${url}' is not an http(s) URL`);
  return { url, apiKey };
}
