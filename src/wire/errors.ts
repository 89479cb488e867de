/**
 * Typed errors raised by the pure codecs. A codec never lets a DataView RangeError or a
 * silently short subarray escape: every read is bounds-checked first and reported here.
 */
export const ProtocolErrorCode = {
  /** Fewer bytes than the structure needs. */
  Truncated: 'TRUNCATED',
  /** A field holds a value the protocol forbids (negative length, bad count, ...). */
  BadValue: 'BAD_VALUE',
  /** A length field exceeds a hard limit. */
  TooLarge: 'TOO_LARGE',
} as const;
export type ProtocolErrorCode = (typeof ProtocolErrorCode)[keyof typeof ProtocolErrorCode];

export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  constructor(
    readonly code: ProtocolErrorCode,
    /** Structure being decoded, e.g. `message_header`. */
    readonly structure: string,
    /** Field being read, e.g. `data_len`. */
    readonly field: string,
    /** Byte offset of the field in the buffer handed to the decoder. */
    readonly offset: number,
    /** What was expected: a byte count for TRUNCATED, a limit or rule otherwise. */
    readonly expected: number | string,
    /** What was found. */
    readonly actual: number | string,
  ) {
    super(`${structure}.${field} at offset ${offset}: ${describe(code)}: expected ${expected}, got ${actual}`);
  }
}

function describe(code: ProtocolErrorCode): string {
  switch (code) {
    case 'TRUNCATED':
      return 'truncated';
    case 'BAD_VALUE':
      return 'illegal value';
    case 'TOO_LARGE':
      return 'over limit';
  }
}

/** Throws TRUNCATED unless `need` bytes are available at `offset` (before `end`). */
export function assertBounds(end: number, offset: number, need: number, structure: string, field: string): void {
  if (offset + need > end) {
    throw new ProtocolError('TRUNCATED', structure, field, offset, need, Math.max(0, end - offset));
  }
}
