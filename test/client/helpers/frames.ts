/**
 * Hand-built daemon → client byte sequences for scenarios the captures do not cover (written
 * field by field here, independent of the wire encoders under test).
 */
export const NULL_AUTH_LIST = Buffer.from('054e554c4c20', 'hex'); // 5 "NULL "

export function acceptBytes(privateGroup: string, version: [number, number, number] = [4, 4, 0]): Buffer {
  return Buffer.concat([Buffer.from([1, ...version, privateGroup.length]), Buffer.from(privateGroup, 'latin1')]);
}

function name32(s: string): Buffer {
  const b = Buffer.alloc(32);
  b.write(s, 'latin1');
  return b;
}

export interface FrameSpec {
  type: number;
  name: string;
  groups: string[];
  hint?: number;
  data?: Uint8Array;
  /** REJECT_MESS: the old type word, written before the groups. */
  oldType?: number;
  bigEndian?: boolean;
  /** Write the hint big-endian (a big-endian originating client). Default: same as bigEndian. */
  hintBigEndian?: boolean;
}

/** A daemon → client frame; little-endian ones carry the 0x80000080 marker, big-endian ones none. */
export function frame(spec: FrameSpec): Buffer {
  const be = spec.bigEndian === true;
  const hintBe = spec.hintBigEndian ?? be;
  const data = Buffer.from(spec.data ?? new Uint8Array(0));
  const head = Buffer.alloc(48);
  const w32 = (v: number, o: number, bigEndian: boolean): void => {
    if (bigEndian) head.writeUInt32BE(v >>> 0, o);
    else head.writeUInt32LE(v >>> 0, o);
  };
  w32(be ? spec.type : spec.type | 0x80000080, 0, be);
  name32(spec.name).copy(head, 4);
  w32(spec.groups.length, 36, be);
  const hint = spec.hint ?? 0;
  w32(hintBe ? hint : hint | 0x80000080, 40, hintBe);
  w32(data.length, 44, be);
  const parts: Buffer[] = [head];
  if (spec.oldType !== undefined) {
    const ot = Buffer.alloc(4);
    if (be) ot.writeUInt32BE(spec.oldType >>> 0);
    else ot.writeUInt32LE((spec.oldType | 0x80000080) >>> 0);
    parts.push(ot);
  }
  for (const g of spec.groups) parts.push(name32(g));
  parts.push(data);
  return Buffer.concat(parts);
}

/** A REG_MEMB body: group id, vs sets, offset of set `mySet`. */
export function membBody(gid: [number, number, number], sets: string[][], mySet: number, bigEndian = false): Buffer {
  const parts: Buffer[] = [];
  const u32 = (v: number): Buffer => {
    const b = Buffer.alloc(4);
    if (bigEndian) b.writeUInt32BE(v >>> 0);
    else b.writeUInt32LE(v >>> 0);
    return b;
  };
  parts.push(u32(gid[0]), u32(gid[1]), u32(gid[2]), u32(sets.length));
  let off = 0;
  for (let i = 0; i < mySet; i++) off += 4 + 32 * sets[i]!.length;
  parts.push(u32(off));
  for (const s of sets) {
    parts.push(u32(s.length));
    for (const n of s) parts.push(name32(n));
  }
  return Buffer.concat(parts);
}

/** Splits a client → daemon stream into frames (little-endian, as we write). */
export function clientFrames(buf: Buffer): { type: number; name: string; groups: string[]; hint: number; data: Buffer }[] {
  const out = [];
  let o = 0;
  while (o + 48 <= buf.length) {
    const type = buf.readUInt32LE(o);
    const nameRaw = buf.subarray(o + 4, o + 36);
    const ng = buf.readInt32LE(o + 36);
    const hint = buf.readUInt32LE(o + 40);
    const dl = buf.readInt32LE(o + 44);
    if (o + 48 + 32 * ng + dl > buf.length) break;
    const groups: string[] = [];
    for (let i = 0; i < ng; i++) {
      const g = buf.subarray(o + 48 + 32 * i, o + 80 + 32 * i);
      const nul = g.indexOf(0);
      groups.push(g.subarray(0, nul < 0 ? 32 : nul).toString('latin1'));
    }
    const nul = nameRaw.indexOf(0);
    out.push({
      type,
      name: nameRaw.subarray(0, nul < 0 ? 32 : nul).toString('latin1'),
      groups,
      hint,
      data: buf.subarray(o + 48 + 32 * ng, o + 48 + 32 * ng + dl),
    });
    o += 48 + 32 * ng + dl;
  }
  return out;
}
