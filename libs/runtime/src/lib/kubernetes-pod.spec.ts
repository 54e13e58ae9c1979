import { quantity } from './kubernetes-pod';

describe('quantity', () => {
  it('reads the CPU and memory quantities the API server gives', () => {
    expect(quantity('2')).toBe(2);
    expect(quantity('250m')).toBe(0.25);
    expect(quantity('1.5')).toBe(1.5);
    expect(quantity('2000000n')).toBeCloseTo(0.002);
    expect(quantity('24312844Ki')).toBe(24312844 * 1024);
    expect(quantity('512Mi')).toBe(512 * 2 ** 20);
    expect(quantity('1G')).toBe(1e9);
    expect(quantity('1e9')).toBe(1e9);
  });

  it('refuses what is not a quantity', () => {
    expect(() => quantity('12 cores')).toThrow("'12 cores' is not a Kubernetes quantity");
    expect(() => quantity('5Xi')).toThrow(/not a Kubernetes quantity/);
  });
});
