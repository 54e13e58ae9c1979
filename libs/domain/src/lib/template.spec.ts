import { isLanguage, LANGUAGES, languagesOf } from './template';

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
