import { formatBytes, parseBytes, parseCpu, QuantityError } from './resources';

describe('parseCpu', () => {
  it.each([
    ['1', 1e9],
    ['0.5', 5e8],
    ['250m', 2.5e8],
    ['2', 2e9],
    ['1.25', 1.25e9],
    ['0.001', 1e6],
    ['1m', 1e6],
    ['16', 16e9],
    ['9999.999', 9_999_999e6],
    ['999999m', 999_999e6],
  ])('reads %s as %d NanoCpus', (value, nano) => {
    expect(parseCpu(value)).toBe(nano);
  });

  it.each(['1e3', '-1', '', 'abc', '0', '0.0', '0m', '1.2345', '1.', '.5', ' 1', '1 ', '+1', '0.5m', '10000', '1000000m', '1M', '1,5'])(
    'rejects %j with a QuantityError',
    (value) => {
      expect(() => parseCpu(value)).toThrow(QuantityError);
    },
  );

  it('says why a zero quantity is refused', () => {
    expect(() => parseCpu('0')).toThrow(/must be above zero/);
  });
});

describe('parseBytes', () => {
  it.each([
    ['512Mi', 512 * 2 ** 20],
    ['1Gi', 2 ** 30],
    ['1G', 1e9],
    ['4096', 4096],
    ['1Ki', 1024],
    ['1K', 1000],
    ['2M', 2e6],
    ['1Ti', 2 ** 40],
    ['1T', 1e12],
    ['8191Ti', 8191 * 2 ** 40],
    ['999999999999999', 999_999_999_999_999],
  ])('reads %s as %d bytes', (value, bytes) => {
    expect(parseBytes(value)).toBe(bytes);
  });

  it.each(['-1', '1e3Mi', '1.5Gi', '', 'Mi', '0', '0Gi', '1mi', '1MB', '1 Gi', '1Pi', 'abc', '+1'])('rejects %j with a QuantityError', (value) => {
    expect(() => parseBytes(value)).toThrow(QuantityError);
  });

  it('rejects more than 15 digits as not a size', () => {
    expect(() => parseBytes('99999999999999999Gi')).toThrow(/is not a size/);
  });

  it('rejects a product beyond the safe integers as out of range', () => {
    expect(() => parseBytes('999999999999999Gi')).toThrow(/out of range/);
    expect(() => parseBytes('8192Ti')).toThrow(/out of range/);
  });
});

describe('formatBytes', () => {
  it.each([
    [2 ** 40, '1Ti'],
    [3 * 2 ** 40, '3Ti'],
    [2 ** 30, '1Gi'],
    [1536 * 2 ** 20, '1536Mi'],
    [512 * 2 ** 20, '512Mi'],
    [64 * 2 ** 10, '64Ki'],
    [1536, '1536'],
    [1e9, '1000000000'],
    [1000, '1000'],
    [0, '0'],
  ])('writes %d bytes as %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });

  it.each(['512Mi', '1Gi', '64Ki', '2Ti', '4096', '1G'])('round-trips %s through parseBytes', (value) => {
    const bytes = parseBytes(value);
    expect(parseBytes(formatBytes(bytes))).toBe(bytes);
  });
});
