import { outputPieces, storableBase64, storableOutput } from './output';

const utf8 = (text: string) => new TextEncoder().encode(text);
const bytes = (...values: number[]) => Uint8Array.from(values);

describe('storableOutput', () => {
  it('passes valid UTF-8 through untouched', () => {
    const text = 'héllo wörld → 漢字 😀\n';
    expect(storableOutput(utf8(text), 1 << 20)).toEqual({ text, truncated: false });
  });

  it('returns an empty string for no output', () => {
    expect(storableOutput(new Uint8Array(0), 10)).toEqual({ text: '', truncated: false });
  });

  it('replaces invalid bytes with U+FFFD', () => {
    expect(storableOutput(bytes(0x61, 0xff, 0x62), 100).text).toBe('a\uFFFDb');
    expect(storableOutput(bytes(0x61, 0x80, 0x62), 100).text).toBe('a\uFFFDb');
    expect(storableOutput(bytes(0xc3, 0x28), 100).text).toBe('\uFFFD(');
  });

  it('replaces a multi-byte character cut short by the end of the output (not truncated) with U+FFFD', () => {
    expect(storableOutput(bytes(0x61, 0xe2, 0x82), 100)).toEqual({ text: 'a\uFFFD', truncated: false });
  });

  it('keeps NUL bytes', () => {
    const result = storableOutput(bytes(0x61, 0x00, 0x62, 0x00), 100);
    expect(result.text).toBe('a\u0000b\u0000');
    expect(result.text).toHaveLength(4);
  });

  it('is not truncated at exactly the cap', () => {
    expect(storableOutput(utf8('abcd'), 4)).toEqual({ text: 'abcd', truncated: false });
  });

  it('truncates ASCII one byte over the cap', () => {
    expect(storableOutput(utf8('abcde'), 4)).toEqual({ text: 'abcd', truncated: true });
  });

  it('truncates to nothing with a cap of zero', () => {
    expect(storableOutput(utf8('a'), 0)).toEqual({ text: '', truncated: true });
  });

  describe.each([
    ['2-byte', 'é'],
    ['3-byte', '€'],
    ['4-byte', '😀'],
  ])('a %s character straddling the cap', (_kind, char) => {
    const width = utf8(char).length;
    const input = utf8(`ab${char}cd`);

    it.each(Array.from({ length: width - 1 }, (_, i) => i + 1))('is dropped whole when %d of its bytes fit', (inside) => {
      const result = storableOutput(input, 2 + inside);
      expect(result).toEqual({ text: 'ab', truncated: true });
      expect(result.text).not.toContain('\uFFFD');
    });

    it('is kept when all its bytes fit', () => {
      expect(storableOutput(input, 2 + width)).toEqual({ text: `ab${char}`, truncated: true });
    });

    it('never yields more than the cap in UTF-8 bytes', () => {
      for (let cap = 0; cap <= input.length; cap++) {
        const { text } = storableOutput(input, cap);
        expect(utf8(text).length).toBeLessThanOrEqual(cap);
        expect(text).not.toContain('\uFFFD');
      }
    });
  });

  it('never splits a character of mixed-width text at any cap', () => {
    const text = 'aé€😀b😀€éa';
    const input = utf8(text);
    for (let cap = 0; cap < input.length; cap++) {
      const result = storableOutput(input, cap);
      expect(result.truncated).toBe(true);
      expect(result.text).not.toContain('\uFFFD');
      expect(text.startsWith(result.text)).toBe(true);
      expect(cap - utf8(result.text).length).toBeLessThan(4);
    }
  });

  it('keeps a trailing invalid continuation byte at the cap as U+FFFD instead of dropping valid text', () => {
    expect(storableOutput(bytes(0x61, 0x80, 0x80, 0x80, 0x80, 0x62), 5)).toEqual({ text: 'a\uFFFD\uFFFD\uFFFD\uFFFD', truncated: true });
  });

  it('does not read past the cap', () => {
    const input = utf8('abc\u0000def');
    expect(storableOutput(input, 4)).toEqual({ text: 'abc\u0000', truncated: true });
    expect(input).toEqual(utf8('abc\u0000def'));
  });
});

describe('storableBase64', () => {
  it('keeps every byte, invalid UTF-8 and NUL included, up to the cap', () => {
    const bytes = Uint8Array.from([0, 0xff, 0xfe, 0x80, 65]);
    expect(storableBase64(bytes, 10)).toEqual({ text: Buffer.from(bytes).toString('base64'), truncated: false });
    expect(Buffer.from(storableBase64(bytes, 3).text, 'base64')).toEqual(Buffer.from([0, 0xff, 0xfe]));
    expect(storableBase64(bytes, 3).truncated).toBe(true);
  });
});

describe('outputPieces', () => {
  // every way to cut these bytes in two or three: characters of 2, 3 and 4 bytes, an invalid byte, a dangling lead byte
  const all = Uint8Array.from([...utf8('a\u00e9\u20ac\u{1F600}b'), 0xff, 0x41, 0xf0, 0x9f]);

  it('joins, at any cut, to the text stored for the whole (a character cut in two waits for its end)', () => {
    for (let i = 0; i <= all.length; i++) {
      for (let j = i; j <= all.length; j++) {
        const p = outputPieces('utf8');
        const text = p.push(all.subarray(0, i)) + p.push(all.subarray(i, j)) + p.push(all.subarray(j)) + p.end();
        expect(text).toBe(storableOutput(all, all.length).text);
      }
    }
  });

  it('with base64, gives each piece as its own base64, whose bytes joined are the stored bytes', () => {
    const p = outputPieces('base64');
    const pieces = [p.push(all.subarray(0, 4)), p.push(all.subarray(4)), p.end()];
    expect(Buffer.concat(pieces.map((x) => Buffer.from(x, 'base64')))).toEqual(Buffer.from(storableBase64(all, all.length).text, 'base64'));
  });
});
