import { contextStatus, planResults, representationBytes, resultObjectKey } from './interpreter-context';

describe('contextStatus', () => {
  it('is active until bound, and while bound to the sandbox the session has', () => {
    expect(contextStatus({ containerId: null }, { containerId: 'c1', live: true })).toBe('active');
    expect(contextStatus({ containerId: 'c1' }, { containerId: 'c1', live: true })).toBe('active');
  });

  it('is lost once the session has another sandbox (agent or container lost), or ended', () => {
    expect(contextStatus({ containerId: 'c1' }, { containerId: 'c2', live: true })).toBe('lost');
    expect(contextStatus({ containerId: 'c1' }, { containerId: null, live: true })).toBe('lost');
    expect(contextStatus({ containerId: null }, { containerId: 'c1', live: false })).toBe('lost');
  });
});

describe('planResults', () => {
  const key = (i: number, mime: string) => `k/${i}/${mime}`;
  const png = Buffer.alloc(300, 7).toString('base64');

  it('keeps small representations inline and stores large ones as their bytes (binary decoded)', () => {
    const plan = planResults(
      [
        { data: { 'text/plain': '42' }, main: true },
        { data: { 'image/png': png, 'text/html': '<p>' + 'x'.repeat(200) + '</p>', 'text/plain': 'fig' }, main: false },
      ],
      { inlineBytes: 100, maxBytes: 10_000 },
      key,
    );
    expect(plan.results).toEqual([
      { kind: 'value', data: { 'text/plain': '42' }, stored: {} },
      { kind: 'display', data: { 'text/plain': 'fig' }, stored: { 'image/png': { key: 'k/1/image/png', size: 300 }, 'text/html': { key: 'k/1/text/html', size: 207 } } },
    ]);
    expect(plan.uploads.map((u) => [u.key, u.mime, u.body.length])).toEqual([
      ['k/1/image/png', 'image/png', 300],
      ['k/1/text/html', 'text/html', 207],
    ]);
    expect(plan.uploads[0]!.body.every((b) => b === 7)).toBe(true);
    expect(plan.note).toBeNull();
  });

  it('drops whole results past the budget for all of them, and says how many', () => {
    const big = { data: { 'text/plain': 'y'.repeat(600) }, main: false };
    const plan = planResults([big, big, { data: { 'text/plain': 'small' }, main: true }], { inlineBytes: 1000, maxBytes: 1000 }, key);
    expect(plan.results.map((r) => r.data['text/plain']!.length)).toEqual([600, 5]);
    expect(plan.note).toMatch(/^1 result\(s\) over the limit of 1000 bytes/);
  });

  it('reads binary representations as base64 and text ones as UTF-8; keys stay under the session', () => {
    expect(representationBytes('image/jpeg', 'AAE=')).toEqual(Buffer.from([0, 1]));
    expect(representationBytes('image/svg+xml', '<svg/>')).toEqual(Buffer.from('<svg/>'));
    expect(representationBytes('application/json', '{}')).toEqual(Buffer.from('{}'));
    expect(resultObjectKey('sess_1', 'exec_1.1', 0, 'image/png')).toMatch(/^sessions\/sess_1\/results\/exec_1\.1\/0\/[0-9a-f]{16}$/);
  });
});
