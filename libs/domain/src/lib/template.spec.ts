import { canonicalLanguage, isLanguage, LANGUAGE_ALIASES, LANGUAGES, languagesOf, runtimesOf } from './template';

describe('languagesOf', () => {
  it('offers bash next to the template language', () => {
    expect(languagesOf({ language: 'python' })).toEqual(['python', 'bash']);
    expect(languagesOf({ language: 'javascript' })).toEqual(['javascript', 'bash']);
  });

  it('offers C and C++ together: one image carries gcc and g++', () => {
    expect(languagesOf({ language: 'c' })).toEqual(['c', 'cpp', 'bash']);
    expect(languagesOf({ language: 'cpp' })).toEqual(['cpp', 'c', 'bash']);
  });

  it('offers bash once for a bash template', () => {
    expect(languagesOf({ language: 'bash' })).toEqual(['bash']);
  });

  it('always leads with the template language and includes bash', () => {
    for (const language of LANGUAGES) {
      const languages = languagesOf({ language });
      expect(languages[0]).toBe(language);
      expect(languages).toContain('bash');
      expect(new Set(languages).size).toBe(languages.length);
    }
  });
});

describe('isLanguage', () => {
  it.each(['python', 'javascript', 'bash'])('accepts %s', (value) => {
    expect(isLanguage(value)).toBe(true);
  });

  it.each(['Python', 'node', 'nodejs', 'js', 'sh', '', ' python', 'toString', '__proto__'])('rejects %j', (value) => {
    expect(isLanguage(value)).toBe(false);
  });
});

describe('canonicalLanguage', () => {
  it('takes a language by its name or an alias, in any case', () => {
    expect(canonicalLanguage('python')).toBe('python');
    expect(canonicalLanguage('PY')).toBe('python');
    expect(canonicalLanguage('node')).toBe('javascript');
    expect(canonicalLanguage('c++')).toBe('cpp');
    expect(canonicalLanguage('cobol')).toBe('cobol');
  });

  it('gives no alias to two languages, nor one that is a language', () => {
    const aliases = Object.values(LANGUAGE_ALIASES).flat();
    expect(new Set(aliases).size).toBe(aliases.length);
    expect(aliases.filter((a) => isLanguage(a))).toEqual([]);
  });
});

describe('runtimesOf', () => {
  const gcc = { language: 'c' as const, image: 'sandbox-gcc:12' };
  const languages = [
    { language: 'c' as const, version: '12.2.0', runtime: 'GCC' },
    { language: 'cpp' as const, version: '12.2.0', runtime: 'GCC' },
    { language: 'python' as const, version: '3.11.2', runtime: 'CPython' },
  ];

  it("lists the template's languages with the versions its image said, the others unknown", () => {
    expect(runtimesOf({ ...gcc, runtimes: { image: 'sandbox-gcc:12', languages } })).toEqual([
      { language: 'c', version: '12.2.0', runtime: 'GCC', aliases: ['gcc'], compiled: true },
      { language: 'cpp', version: '12.2.0', runtime: 'GCC', aliases: ['c++', 'g++'], compiled: true },
      { language: 'bash', version: null, runtime: null, aliases: ['sh'], compiled: false },
    ]);
  });

  it('knows no version before a sandbox of the image said it, nor from another image', () => {
    expect(runtimesOf({ ...gcc, runtimes: null }).map((r) => r.version)).toEqual([null, null, null]);
    expect(runtimesOf({ ...gcc, runtimes: { image: 'sandbox-gcc:11', languages } }).map((r) => r.version)).toEqual([null, null, null]);
  });
});
