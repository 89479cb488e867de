/**
 * Name rules the daemon applies (the reference's G_private_to_names and handshake checks).
 *
 *   private group = '#' private_name '#' daemon_name
 *   private_name  = 1..10 bytes in '$'..'~'      daemon_name = 1..19 bytes in '$'..'~'
 *
 * Names are latin1 strings: one char per wire byte.
 */
import { Limits, NAME_CHAR_MAX, NAME_CHAR_MIN } from '../../wire/client/index.js';

/** Longest daemon name (the reference's MAX_PROC_NAME without its NUL). */
export const MAX_DAEMON_NAME = Limits.MAX_PROC_NAME - 1;

function legalBytes(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < NAME_CHAR_MIN || c > NAME_CHAR_MAX) return false;
  }
  return true;
}

export interface PrivateGroupParts {
  readonly privateName: string;
  readonly daemonName: string;
}

/**
 * Splits and checks a private group name exactly as the reference does before it trusts one
 * (message senders, KILL targets, private-group destinations): split at the second '#', both
 * parts non-empty, within their length limits and made of legal bytes. `name` is the field's
 * text up to its first NUL. Returns null for anything else.
 */
export function parsePrivateGroupStrict(name: string): PrivateGroupParts | null {
  if (name.length < 4 || name.charCodeAt(0) !== 0x23) return null;
  const second = name.indexOf('#', 1);
  if (second < 0) return null;
  const privateName = name.slice(1, second);
  const daemonName = name.slice(second + 1);
  if (privateName.length < 1 || privateName.length > Limits.MAX_PRIVATE_NAME) return null;
  if (daemonName.length < 1 || daemonName.length > MAX_DAEMON_NAME) return null;
  if (!legalBytes(privateName) || !legalBytes(daemonName)) return null;
  return { privateName, daemonName };
}

/** The handshake's private-name check: every byte in '$'..'~' (length is checked separately). */
export function isLegalPrivateNameBytes(name: string): boolean {
  return legalBytes(name);
}
