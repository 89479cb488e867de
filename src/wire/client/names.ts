/**
 * Private names, private group names and group names (SPEC.md Part I §7).
 *   private group = '#' private_name '#' daemon_name      total <= 31 bytes
 * Legal bytes in private names and joined group names: '$' (0x24) .. '~' (0x7e).
 */
import { Limits, NAME_CHAR_MAX, NAME_CHAR_MIN } from './constants.js';

function allLegal(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < NAME_CHAR_MIN || c > NAME_CHAR_MAX) return false;
  }
  return true;
}

export function isLegalPrivateName(name: string): boolean {
  return name.length <= Limits.MAX_PRIVATE_NAME && allLegal(name);
}

/** The library's join/leave check: 1..31 bytes, each '$'..'~'. */
export function isLegalGroupName(name: string): boolean {
  return name.length >= 1 && name.length < Limits.MAX_GROUP_NAME && allLegal(name);
}

export function privateGroupName(privateName: string, daemonName: string): string {
  return `#${privateName}#${daemonName}`;
}

/** Splits `#priv#daemon` at the second '#'; null if it is not of that shape. */
export function parsePrivateGroup(name: string): { privateName: string; daemonName: string } | null {
  if (name.length < 3 || name.charCodeAt(0) !== 0x23) return null;
  const second = name.indexOf('#', 1);
  if (second < 0) return null;
  return { privateName: name.slice(1, second), daemonName: name.slice(second + 1) };
}

export function isPrivateGroup(name: string): boolean {
  return name.charCodeAt(0) === 0x23;
}
