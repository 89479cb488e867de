/** Errors the ring engine raises to its caller (never for anything that came off the wire). */

export type RingConfigErrorCode =
  | 'DUPLICATE_DAEMON'
  | 'NOT_CONFIGURED'
  | 'UNKNOWN_MEMBER'
  | 'NOT_A_MEMBER'
  | 'BAD_WINDOW'
  | 'BAD_TIMEOUT';

/** The settings or the ring given to the engine are inconsistent. */
export class RingConfigError extends Error {
  override readonly name = 'RingConfigError';
  constructor(
    readonly code: RingConfigErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export type RingSubmitErrorCode = 'MESSAGE_TOO_SHORT' | 'MESSAGE_TOO_LONG' | 'BAD_PACKET_TYPE';

/** A message handed to submit() cannot be carried by the ring. */
export class RingSubmitError extends Error {
  override readonly name = 'RingSubmitError';
  constructor(
    readonly code: RingSubmitErrorCode,
    message: string,
  ) {
    super(message);
  }
}
