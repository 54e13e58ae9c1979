import { z } from 'zod';
import { ConfigError, loadConfig } from './load-config';

const schema = z.object({ A: z.coerce.number().int(), B: z.string().default('b'), C: z.enum(['x', 'y']) });

describe('loadConfig', () => {
  it('returns the parsed values with defaults and coercion applied', () => {
    expect(loadConfig(schema, { A: '7', C: 'x' })).toEqual({ A: 7, B: 'b', C: 'x' });
  });

  it('ignores variables the schema does not name', () => {
    expect(loadConfig(schema, { A: '1', C: 'y', PATH: '/bin', SECRET: 's' })).toEqual({ A: 1, B: 'b', C: 'y' });
  });

  it('freezes the result', () => {
    const config = loadConfig(schema, { A: '1', C: 'x' });
    expect(Object.isFrozen(config)).toBe(true);
    expect(() => {
      (config as { A: number }).A = 2;
    }).toThrow(TypeError);
  });

  it('throws one ConfigError listing every problem, each with its variable', () => {
    let caught: unknown;
    try {
      loadConfig(schema, { A: 'abc', C: 'z' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const error = caught as ConfigError;
    expect(error.name).toBe('ConfigError');
    expect(error.problems).toHaveLength(2);
    expect(error.problems[0]).toMatch(/^A: /);
    expect(error.problems[1]).toMatch(/^C: /);
    expect(error.message).toMatch(/^invalid configuration \(2 problems\):/);
    for (const problem of error.problems) expect(error.message).toContain(problem);
  });

  it('says "1 problem" in the singular', () => {
    expect(() => loadConfig(schema, { A: '1' })).toThrow(/\(1 problem\):\n {2}C: /);
  });

  it('names a problem with the whole environment (env)', () => {
    const whole = z.object({ A: z.string() }).refine(() => false, 'nope');
    expect(() => loadConfig(whole, { A: 'a' })).toThrow('(env): nope');
  });
});

describe('ConfigError', () => {
  it('keeps its problems', () => {
    const error = new ConfigError(['A: bad', 'B: worse']);
    expect(error.problems).toEqual(['A: bad', 'B: worse']);
    expect(error.message).toBe('invalid configuration (2 problems):\n  A: bad\n  B: worse');
    expect(error).toBeInstanceOf(Error);
  });
});
