/**
 * Property tests: random valid structures of every kind round-trip through encode → decode →
 * encode, keep their values, and survive a big-endian flip.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeHeaderInto } from '../../src/wire/client/index.js';
import {
  channelOf,
  decodeDatagram,
  decodeGroupsMessage,
  encodeDatagram,
  encodeGroupsMessage,
  padBefore,
  PacketType,
  STATUS_INT16_FIELDS,
  STATUS_INT32_FIELDS,
  type Datagram,
  type Fragment,
  type GroupsMessage,
  type PacketHeader,
  type StatusBody,
  type TokenHeader,
} from '../../src/wire/daemon/index.js';
import { hex, toBigEndian } from './support.js';

const i32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
const u32 = fc.integer({ min: 0, max: 2 ** 32 - 1 });
const i16 = fc.integer({ min: -32768, max: 32767 });
const membId = fc.record({ procId: i32, time: i32 });

function packetHeader(type: fc.Arbitrary<number>): fc.Arbitrary<PacketHeader> {
  return fc.record({
    type, transmitterId: i32, procId: i32, membId, seq: i32, tokenRound: i32, confHash: u32,
    dataLen: fc.constant(0), padding: fc.integer({ min: 0, max: 0xffff }), fragIndex: i16, fragLen: i16,
  });
}

function tokenHeader(type: fc.Arbitrary<number>): fc.Arbitrary<TokenHeader> {
  return fc.record({ type, transmitterId: i32, procId: i32, membId, seq: i32, aru: i32, aruLastId: i32, flowControl: i16, rtrLen: fc.constant(0), confHash: u32 });
}

const latin1Name = (max: number): fc.Arbitrary<string> =>
  fc.array(fc.integer({ min: 1, max: 255 }), { maxLength: max }).map((a) => String.fromCharCode(...a));

/** A whole ring message: 48-byte header + groups + data, as bytes. */
const ringMessage = fc
  .record({
    type: fc.integer({ min: 0, max: 0x7fffffff }).map((t) => t & ~0x80000080),
    name: latin1Name(31),
    numGroups: fc.integer({ min: 0, max: 3 }),
    hint: u32,
    dataLen: fc.integer({ min: 0, max: 900 }),
    fill: fc.integer({ min: 0, max: 255 }),
  })
  .map((m) => {
    const out = new Uint8Array(48 + 32 * m.numGroups + m.dataLen).fill(m.fill);
    encodeHeaderInto({ type: m.type, name: m.name, numGroups: m.numGroups, hint: m.hint, dataLen: m.dataLen }, out, 0);
    return out;
  });

const serviceType = fc.constantFrom(PacketType.UNRELIABLE, PacketType.RELIABLE, PacketType.FIFO, PacketType.AGREED, PacketType.SAFE);

const dataPacket: fc.Arbitrary<Datagram> = fc
  .oneof(
    // A non-last fragment of a multi-fragment message (the packet holds nothing else).
    fc.record({ index: fc.integer({ min: 2, max: 99 }), data: fc.uint8Array({ minLength: 0, maxLength: 1432 }) }).map((f) => [f as Fragment]),
    // The first fragment of a multi-fragment message.
    ringMessage.map((m) => [{ index: 1, data: m } as Fragment]),
    // A last fragment or a whole message, then whole messages packed after it.
    fc.tuple(
      fc.oneof(
        fc.record({ index: fc.integer({ min: -100, max: -2 }), data: fc.uint8Array({ maxLength: 600 }) }).map((f) => f as Fragment),
        ringMessage.map((m) => ({ index: -1, data: m }) as Fragment),
      ),
      fc.array(fc.tuple(ringMessage, fc.boolean(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
    ).map(([first, more]) => {
      const frags: Fragment[] = [first];
      let p = first.data.length;
      for (const [m, explicitPad, padByte] of more) {
        const pad = padBefore(p);
        if (p + pad + 4 + m.length > 1432) break;
        const f: Fragment = { index: -1, data: m };
        if (explicitPad && pad > 0) f.pad = new Uint8Array(pad).fill(padByte);
        frags.push(f);
        p += pad + 4 + m.length;
      }
      return frags;
    }),
  )
  .chain((fragments) =>
    fc.record({
      kind: fc.constant('data' as const),
      littleEndian: fc.constant(true),
      header: packetHeader(fc.tuple(serviceType, fc.boolean()).map(([s, routed]) => s | (routed ? PacketType.ROUTED : 0))),
      fragments: fc.constant(fragments),
    }),
  );

const repInfo = fc.record({ procId: i32, type: fc.integer({ min: 0, max: 2 }), segIndex: i16 });

const membership: fc.Arbitrary<Datagram> = fc.oneof(
  fc.record({
    kind: fc.constant('alive' as const), littleEndian: fc.constant(true), header: packetHeader(fc.constant(PacketType.ALIVE)),
    members: fc.array(i32, { maxLength: 128 }), numPending: i16,
  }),
  fc.record({
    kind: fc.constant('join' as const), littleEndian: fc.constant(true), header: packetHeader(fc.constant(PacketType.JOIN)),
    members: fc.array(i32, { maxLength: 60 }), numPending: i16, reps: fc.array(repInfo, { maxLength: 25 }), repIndex: i16,
  }),
  fc.record({ kind: fc.constant('refer' as const), littleEndian: fc.constant(true), header: packetHeader(fc.constant(PacketType.REFER)) }),
  fc.record({ kind: fc.constant('hurry' as const), littleEndian: fc.constant(true), header: packetHeader(fc.constant(PacketType.HURRY)) }),
);

const statusBody: fc.Arbitrary<StatusBody> = fc
  .tuple(fc.array(i32, { minLength: 18, maxLength: 18 }), fc.array(i16, { minLength: 12, maxLength: 12 }))
  .map(([a, b]) => {
    const s = {} as StatusBody;
    STATUS_INT32_FIELDS.forEach((k, i) => (s[k] = a[i]!));
    STATUS_INT16_FIELDS.forEach((k, i) => (s[k] = b[i]!));
    return s;
  });

const monitor: fc.Arbitrary<Datagram> = fc.oneof(
  fc.record({ kind: fc.constant('status-request' as const), littleEndian: fc.constant(true), header: packetHeader(fc.constant(PacketType.STATUS)) }),
  fc.record({ kind: fc.constant('status-reply' as const), littleEndian: fc.constant(true), header: packetHeader(fc.constant(PacketType.STATUS)), status: statusBody }),
  fc.record({
    kind: fc.constant('partition' as const), littleEndian: fc.constant(true), header: packetHeader(fc.constant(PacketType.PARTITION)),
    components: fc.array(i16, { minLength: 128, maxLength: 128 }),
  }),
  fc.record({
    kind: fc.constant('fc' as const), littleEndian: fc.constant(true), header: packetHeader(fc.constant(PacketType.FC)),
    windows: fc.array(i16, { minLength: 128, maxLength: 128 }), acceleratedWindows: fc.array(i16, { minLength: 128, maxLength: 128 }),
  }),
  fc.record({ kind: fc.constant('reload' as const), littleEndian: fc.constant(true), header: packetHeader(fc.constant(PacketType.RELOAD)) }),
);

const arqBits = fc.tuple(fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 15 })).map(([a, r]) => (a << 16) | (r << 20));

const token: fc.Arbitrary<Datagram> = fc.record({
  kind: fc.constant('token' as const),
  littleEndian: fc.constant(true),
  header: tokenHeader(arqBits),
  rtr: fc.array(fc.record({ membId, procId: i32, segIndex: i16, seqs: fc.array(i32, { maxLength: 40 }) }), { maxLength: 5 }),
});

const formMembers = fc
  .tuple(fc.array(i32, { maxLength: 128 }), fc.nat(), fc.boolean(), fc.integer({ min: 0, max: 255 }))
  .map(([members, split, stale, fill]) => {
    const numMembers = split % (members.length + 1);
    const m = { numMembers, numPending: members.length - numMembers, members } as { numMembers: number; numPending: number; members: number[]; stale?: Uint8Array };
    if (stale) m.stale = new Uint8Array(4 * (128 - members.length)).fill(fill);
    return m;
  });

const ring = fc
  .record({ membId, transTime: i32, aru: i32, highestSeq: i32, holes: fc.array(i32, { maxLength: 30 }), commit: fc.array(i32, { maxLength: 10 }), t: fc.nat() })
  .map(({ t, ...g }) => ({ ...g, numTrans: t % (g.commit.length + 1) }));

const form: fc.Arbitrary<Datagram> = fc.oneof(
  fc.record({
    kind: fc.constant('form1' as const), littleEndian: fc.constant(true), header: tokenHeader(fc.constant(PacketType.FORM1)),
    members: formMembers,
    reps: fc.tuple(fc.array(repInfo, { maxLength: 25 }), i16, fc.boolean(), fc.integer({ min: 0, max: 255 })).map(([reps, repIndex, stale, fill]) => {
      const r = { reps, repIndex } as { reps: typeof reps; repIndex: number; stale?: Uint8Array };
      if (stale) r.stale = new Uint8Array(8 * (25 - reps.length)).fill(fill);
      return r;
    }),
    rings: fc.array(ring, { maxLength: 20 }),
  }),
  fc.record({
    kind: fc.constant('form2' as const), littleEndian: fc.constant(true), header: tokenHeader(fc.constant(PacketType.FORM2)),
    members: formMembers, newRingId: membId, rings: fc.array(ring, { maxLength: 20 }),
  }),
);

const anyDatagram = fc.oneof(dataPacket, membership, monitor, token, form);

/** What decoding the encoding of `d` must give back. */
function expected(d: Datagram, bytes: Uint8Array): Datagram {
  const body = bytes.length - 40;
  switch (d.kind) {
    case 'token':
    case 'form1':
    case 'form2': {
      const header = { ...d.header, rtrLen: body };
      if (d.kind === 'form1') {
        return {
          ...d, header,
          members: { ...d.members, stale: d.members.stale ?? new Uint8Array(4 * (128 - d.members.members.length)) },
          reps: { ...d.reps, stale: d.reps.stale ?? new Uint8Array(8 * (25 - d.reps.reps.length)) },
        };
      }
      if (d.kind === 'form2') return { ...d, header, members: { ...d.members, stale: d.members.stale ?? new Uint8Array(4 * (128 - d.members.members.length)) } };
      return { ...d, header };
    }
    case 'data': {
      const f0 = d.fragments[0]!;
      return {
        ...d,
        header: { ...d.header, dataLen: body, fragIndex: f0.index, fragLen: f0.data.length },
        fragments: withPads(d.fragments),
      };
    }
    default:
      return { ...d, header: { ...d.header, dataLen: body } };
  }
}

/** Fragments with the pads the encoder writes: given bytes, or zeros of the alignment length. */
function withPads(fragments: readonly Fragment[]): Array<{ index: number; data: Uint8Array; pad: Uint8Array }> {
  let p = 0;
  return fragments.map((f, i) => {
    const n = i === 0 ? 0 : padBefore(p);
    p += (i === 0 ? 0 : n + 4) + f.data.length;
    return { index: f.index, data: f.data, pad: f.pad ?? new Uint8Array(n) };
  });
}

function comparable(d: Datagram): unknown {
  if (d.kind !== 'data') return d;
  return { ...d, fragments: d.fragments.map((f) => ({ index: f.index, data: f.data, pad: f.pad ?? new Uint8Array(0) })) };
}

describe('random valid datagrams', () => {
  it('encode → decode gives the value back, and re-encodes to the same bytes', () => {
    fc.assert(
      fc.property(anyDatagram, (d) => {
        const bytes = encodeDatagram(d);
        const back = decodeDatagram(bytes, channelOf(d));
        expect(comparable(back)).toEqual(comparable(expected(d, bytes)));
        expect(hex(encodeDatagram(back))).toBe(hex(bytes));
      }),
      { numRuns: 1500 },
    );
  });

  it('a big-endian writer of the same value is read back to the same value', () => {
    fc.assert(
      fc.property(anyDatagram, (d) => {
        const bytes = encodeDatagram(d);
        const channel = channelOf(d);
        const be = decodeDatagram(toBigEndian(bytes, channel), channel);
        expect(be.littleEndian).toBe(false);
        expect(hex(encodeDatagram(be))).toBe(hex(bytes));
      }),
      { numRuns: 1000 },
    );
  });

  it('data packets: start fragments expose their message headers', () => {
    fc.assert(
      fc.property(dataPacket, (d) => {
        const back = decodeDatagram(encodeDatagram(d), 'data');
        if (back.kind !== 'data') throw new Error('kind');
        for (const f of back.fragments) expect(f.message === null).toBe(!(f.index === 1 || f.index === -1));
      }),
      { numRuns: 300 },
    );
  });
});

const groupsMessage: fc.Arbitrary<GroupsMessage> = fc.record({
  type: fc.constantFrom(0x00080002, 0x00080010),
  littleEndian: fc.constant(true),
  daemonName: latin1Name(19),
  syncedSetSize: u32,
  hint: fc.constant(0x80000080),
  membId,
  syncedSet: fc.option(fc.array(i32, { maxLength: 128 }), { nil: null }),
  groups: fc.array(
    fc.record({
      name: latin1Name(31),
      groupId: fc.record({ membId, index: i32 }),
      changed: fc.integer({ min: 0, max: 1 }),
      daemons: fc.array(fc.record({ procId: i32, membId, members: fc.array(latin1Name(31), { maxLength: 5 }) }), { maxLength: 4 }),
    }),
    { maxLength: 6 },
  ),
});

describe('random GROUPS messages', () => {
  it('round-trip', () => {
    fc.assert(
      fc.property(groupsMessage, (g) => {
        const bytes = encodeGroupsMessage(g);
        const back = decodeGroupsMessage(bytes, 0, bytes.length);
        expect(back.offset).toBe(bytes.length);
        const { nameField, ...rest } = back.value;
        expect(nameField).toHaveLength(28);
        expect(rest).toEqual(g);
        expect(hex(encodeGroupsMessage(back.value))).toBe(hex(bytes));
      }),
      { numRuns: 500 },
    );
  });
});
