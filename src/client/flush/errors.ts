/**
 * Flush layer errors (SPEC.md "Flush layer", §FL.1–§FL.2): the conditions fl.h adds to the C API's.
 * The C API's own conditions (ILLEGAL_GROUP, ILLEGAL_SERVICE, CONNECTION_CLOSED, …) are raised
 * with the client's SpreadError classes.
 */
import { FlushErrorCode } from './wire.js';

export type FlushErrorCodeName = keyof typeof FlushErrorCode;

/** A flush-layer condition: `code` is the fl.h constant's name, `errno` its value. */
export class FlushError extends Error {
  override name = 'FlushError';
  readonly code: FlushErrorCodeName;
  readonly errno: number;

  constructor(code: FlushErrorCodeName, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.errno = FlushErrorCode[code];
  }
}
