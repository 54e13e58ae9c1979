/** base64: stdin, stdout and stderr are base64 of bytes, so binary data round-trips exactly. */
export const OUTPUT_ENCODINGS = ['utf8', 'base64'] as const;
export type OutputEncoding = (typeof OUTPUT_ENCODINGS)[number];

const decoder = new TextDecoder('utf-8', { fatal: false });

/**
 * Program output as it may be stored: valid UTF-8 (invalid sequences become U+FFFD, since MariaDB's
 * strict mode rejects them and would strand the row), at most `capBytes` of the original bytes.
 */
export function storableOutput(bytes: Uint8Array, capBytes: number): { text: string; truncated: boolean } {
  const truncated = bytes.length > capBytes;
  let kept = truncated ? bytes.subarray(0, capBytes) : bytes;
  if (truncated) {
    // do not cut a multi-byte character in half: drop a trailing partial sequence
    let i = kept.length - 1;
    let back = 0;
    while (i >= 0 && back < 3 && (kept[i]! & 0xc0) === 0x80) {
      i--;
      back++;
    }
    if (i >= 0 && kept[i]! >= 0xc0) {
      const need = kept[i]! >= 0xf0 ? 4 : kept[i]! >= 0xe0 ? 3 : 2;
      if (back + 1 < need) kept = kept.subarray(0, i);
    }
  }
  return { text: decoder.decode(kept), truncated };
}

/** Program output as base64 of the bytes themselves (encoding base64: binary round-trips exactly), at most `capBytes` of them. */
export function storableBase64(bytes: Uint8Array, capBytes: number): { text: string; truncated: boolean } {
  return { text: Buffer.from(bytes.subarray(0, capBytes)).toString('base64'), truncated: bytes.length > capBytes };
}

/**
 * Output as it is streamed, piece by piece, so a stream and the stored result agree: with utf8 the
 * pieces joined are exactly the text `storableOutput` stores for the whole (a character cut between
 * two pieces waits for its end); with base64 each piece is the base64 of its own bytes, and the
 * bytes of the pieces joined are those `storableBase64` stores.
 */
export interface OutputPieces {
  /** The text of the next piece of bytes ('' while it only holds part of a character). */
  push(bytes: Uint8Array): string;
  /** What is left at the end: a trailing partial character as U+FFFD, as the whole's decoding has it. */
  end(): string;
}

export function outputPieces(encoding: OutputEncoding): OutputPieces {
  if (encoding === 'base64') return { push: (bytes) => Buffer.from(bytes).toString('base64'), end: () => '' };
  const streaming = new TextDecoder('utf-8', { fatal: false });
  return { push: (bytes) => streaming.decode(bytes, { stream: true }), end: () => streaming.decode() };
}
