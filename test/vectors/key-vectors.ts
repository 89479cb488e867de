/**
 * Typed access to client-key-vectors.json: a handful of key client⇄daemon vectors with their
 * expected decoded values written by hand from PROTOCOL-NOTES.md (see its `about`).
 */
import { readFileSync } from 'node:fs';

export type Num = number | string;

export interface HeaderExpect {
  type: Num;
  name: string;
  numGroups: number;
  hint: Num;
  dataLen: number;
}
export interface GroupIdExpect {
  procId: Num;
  time: Num;
  index: Num;
}

export interface FrameExpect {
  littleEndian: boolean;
  header: HeaderExpect;
  groups: string[];
  dataHex?: string;
  dataText?: string;
  dataZeroPaddedTo?: number;
  messType?: number;
  endianMismatch?: boolean;
  membership?: { groupId: GroupIdExpect; vsSets: string[][]; myVsSet: number };
  selfIndex?: { privateGroup: string; index: number };
  selfLeave?: boolean;
  transition?: GroupIdExpect;
  maskedBytes?: number;
  reencodedHex?: string;
}

export interface ConnectExpect {
  major: number;
  minor: number;
  patch: number;
  flags: number;
  name: string;
  membership: boolean;
  priority: number;
  legalName?: boolean;
}

export interface ErrorExpect {
  code: string;
  structure: string;
  field: string;
  offset: number;
  message: string;
}

interface Base {
  name: string;
  origin: 'capture' | 'notes' | 'constructed';
  golden: boolean;
  /** Capture piece id (origin capture) or a pointer into the notes. */
  ref: string;
  hex?: string;
  sha256?: string;
  length?: number;
}

export type KeyVector =
  | (Base & { kind: 'frame'; expect: FrameExpect })
  | (Base & { kind: 'connect'; expect?: ConnectExpect; expectError?: ErrorExpect })
  | (Base & { kind: 'auth_list' | 'auth_reply'; expect: { methods: string[] } })
  | (Base & { kind: 'accept'; expect: { withPatch: boolean; major: number; minor: number; patch: number; privateGroup: string; generatedName?: string } })
  | (Base & { kind: 'reject'; expect: { code: number; codeName: string; before: 'auth_list' | 'accept' } });

export function loadKeyVectors(): KeyVector[] {
  const raw = JSON.parse(readFileSync(new URL('./client-key-vectors.json', import.meta.url), 'utf8')) as { vectors: KeyVector[] };
  return raw.vectors;
}

/** Parses a hand-written number: decimal, or a "0x..." hex string (as a signed int32 if `signed`). */
export function num(v: Num, signed = false): number {
  const n = typeof v === 'number' ? v : Number.parseInt(v, v.startsWith('0x') ? 16 : 10);
  if (!Number.isFinite(n)) throw new Error(`bad number ${String(v)}`);
  return signed ? n | 0 : n;
}
