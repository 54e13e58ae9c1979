import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configFilePath, DEFAULT_URL, resolveConfig } from './config';
import { UsageError } from './output';

describe('resolveConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sandbox-config-'));
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify({ url: 'http://file:1', api_key: 'sbx_file' }));

  it('takes flags over the environment over the file, with a default URL', () => {
    expect(resolveConfig({ flags: {}, env: { SANDBOX_CONFIG: file } })).toEqual({ url: 'http://file:1', apiKey: 'sbx_file' });
    expect(resolveConfig({ flags: {}, env: { SANDBOX_CONFIG: file, SANDBOX_URL: 'http://env:2', SANDBOX_API_KEY: 'sbx_env' } })).toEqual({ url: 'http://env:2', apiKey: 'sbx_env' });
    expect(resolveConfig({ flags: { url: 'http://flag:3', apiKey: 'sbx_flag' }, env: { SANDBOX_CONFIG: file, SANDBOX_URL: 'http://env:2' } })).toEqual({ url: 'http://flag:3', apiKey: 'sbx_flag' });
    expect(resolveConfig({ flags: {}, env: { SANDBOX_CONFIG: join(dir, 'none.json'), SANDBOX_API_KEY: 'k' } })).toEqual({ url: DEFAULT_URL, apiKey: 'k' });
  });

  it('refuses a missing key, a bad URL or a file that is not a JSON object, as usage errors', () => {
    expect(() => resolveConfig({ flags: {}, env: { SANDBOX_CONFIG: join(dir, 'none.json') } })).toThrow(UsageError);
    expect(() => resolveConfig({ flags: { url: 'ftp://x' }, env: { SANDBOX_CONFIG: file } })).toThrow(/not an http/);
    writeFileSync(join(dir, 'bad.json'), '[1]');
    expect(() => resolveConfig({ flags: {}, env: { SANDBOX_CONFIG: join(dir, 'bad.json') } })).toThrow(/must hold an object/);
  });

  it('finds the file in XDG_CONFIG_HOME or ~/.config', () => {
    expect(configFilePath({}, '/home/u')).toBe('/home/u/.config/sandbox/config.json');
    expect(configFilePath({ XDG_CONFIG_HOME: '/x' }, '/home/u')).toBe('/x/sandbox/config.json');
  });
});
