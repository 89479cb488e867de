/**
 * Every frame and handshake piece of every client capture (golden bytes from the reference):
 * decode whole, decode through the framer byte by byte and at every split point (sampled for
 * big frames), re-encode and compare hex (KILL group garbage masked), and round-trip at a
 * non-zero offset inside a larger buffer. Whole streams go through the framer too.
 */
import { describe, expect, it } from 'vitest';
import {
  acceptHasPatch,
  CLIENT_TO_DAEMON_LIMITS,
  DAEMON_TO_CLIENT_LIMITS,
  decodeAccept,
  decodeAuthList,
  decodeAuthReply,
  decodeConnect,
  decodeHeader,
  decodeMembershipBody,
  decodeMessage,
  encodeAccept,
  encodeAuthList,
  encodeAuthReply,
  encodeConnect,
  encodeMembershipBody,
  encodeMessage,
  encodeMessageInto,
  MessageFramer,
  messageLength,
  ServiceType,
} from '../../src/wire/client/index.js';
import type { HeaderLimits, WireMessage } from '../../src/wire/client/index.js';
import { allFrames, allPieces, CLIENT_CAPTURES, loadSessions, sessionOf, toHex } from '../vectors/captures.js';
import type { Piece } from '../vectors/captures.js';
import { cstr, expectBytesMasked, expectProtocolError, i32le, plain, prng, splitPoints, u32le } from './support.js';

const limitsFor = (p: Piece): HeaderLimits => (p.direction === 'to_server' ? CLIENT_TO_DAEMON_LIMITS : DAEMON_TO_CLIENT_LIMITS);
const frames = allFrames().map((p) => [p.id, p] as const);
const FILL = 0xa5;

/** The same frame as an independent reader sees it (own LE reads, no src/wire). */
function independent(p: Piece): ReturnType<typeof plain> {
  const b = p.bytes;
  const type = u32le(b, 0);
  const numGroups = i32le(b, 36);
  const dataLen = i32le(b, 44);
  const reject = (type & 0x00400000) !== 0;
  const groupsAt = 48 + (reject ? 4 : 0);
  return {
    header: { type: (type & ~0x80000080) >>> 0, name: cstr(b, 4, 32), numGroups, hint: u32le(b, 40), dataLen },
    oldType: reject ? (u32le(b, 48) & ~0x80000080) >>> 0 : 0,
    groups: Array.from({ length: numGroups }, (_, i) => cstr(b, groupsAt + 32 * i, 32)),
    data: toHex(b.subarray(b.length - dataLen)),
  };
}

function fieldBoundaries(p: Piece): number[] {
  const n = i32le(p.bytes, 36);
  return [4, 36, 40, 44, 48, ...Array.from({ length: n }, (_, i) => 48 + 32 * (i + 1))];
}

describe('client captures: message frames', () => {
  it('covers every capture', () => {
    const perCapture = CLIENT_CAPTURES.map((c) => frames.filter(([, p]) => p.capture === c).length);
    expect(perCapture).toEqual([7, 43, 1, 45]);
  });

  describe.each(frames)('%s', (_id, p) => {
    const limits = limitsFor(p);
    const want = independent(p);

    it('decodes whole', () => {
      const d = decodeMessage(p.bytes, 0, p.bytes.length, limits);
      expect(d.offset).toBe(p.bytes.length);
      expect(d.littleEndian).toBe(true);
      expect(plain(d.value)).toEqual(want);
      expect(messageLength(d.value)).toBe(p.bytes.length);
      const h = decodeHeader(p.bytes, 0, p.bytes.length, limits);
      expect(h.offset).toBe(48);
      expect(h.value).toEqual(want.header);
    });

    it('decodes through the framer byte by byte', () => {
      const f = new MessageFramer(limits);
      const early: number[] = [];
      for (let i = 0; i < p.bytes.length - 1; i++) {
        f.push(p.bytes.subarray(i, i + 1));
        if (f.next() !== null) early.push(i); // expect() per byte is too slow for 5 KB frames
      }
      expect(early).toEqual([]);
      expect(f.buffered).toBe(p.bytes.length - 1);
      f.push(p.bytes.subarray(p.bytes.length - 1));
      const fr = f.next();
      expect(fr).not.toBeNull();
      expect(fr!.length).toBe(p.bytes.length);
      expect(fr!.littleEndian).toBe(true);
      expect(plain(fr!.message)).toEqual(want);
      expect(f.next()).toBeNull();
      expect(f.buffered).toBe(0);
    });

    it('decodes through the framer at every split point', () => {
      const pts = splitPoints(p.bytes.length, fieldBoundaries(p));
      const bad: string[] = [];
      const wantJson = JSON.stringify(want);
      for (const k of pts) {
        const f = new MessageFramer(limits);
        f.push(p.bytes.subarray(0, k));
        if (f.next() !== null) bad.push(`${k}: frame before its last byte`);
        f.push(p.bytes.subarray(k));
        const fr = f.next();
        if (fr === null) bad.push(`${k}: no frame`);
        else if (JSON.stringify(plain(fr.message)) !== wantJson || fr.length !== p.bytes.length) bad.push(`${k}: wrong frame`);
        if (f.next() !== null || f.buffered !== 0) bad.push(`${k}: leftover`);
      }
      expect(bad).toEqual([]);
      expect(pts.length).toBeGreaterThanOrEqual(Math.min(p.bytes.length - 1, 256));
    });

    it('re-encodes to the captured bytes', () => {
      const m = decodeMessage(p.bytes, 0, p.bytes.length, limits).value;
      const out = encodeMessage(m);
      expectBytesMasked(out, p.bytes, p.mask);
      if (p.mask) {
        // Only the garbage differs, and we write zeros there.
        for (let i = 0; i < out.length; i++) if (p.mask[i]) expect(out[i]).toBe(0);
      }
    });

    it('round-trips at a non-zero offset inside a larger buffer', () => {
      const at = 13;
      const big = new Uint8Array(at + p.bytes.length + 29).fill(FILL);
      big.set(p.bytes, at);
      const d = decodeMessage(big, at, big.length, limits);
      expect(d.offset).toBe(at + p.bytes.length);
      expect(plain(d.value)).toEqual(want);
      const out = new Uint8Array(big.length).fill(FILL);
      expect(encodeMessageInto(d.value, out, at)).toBe(at + p.bytes.length);
      expect(out.subarray(0, at).every((v) => v === FILL)).toBe(true);
      expect(out.subarray(at + p.bytes.length).every((v) => v === FILL)).toBe(true);
      expectBytesMasked(out.subarray(at, at + p.bytes.length), p.bytes, p.mask);
    });

    if (p.direction === 'to_client' && (u32le(p.bytes, 0) & ServiceType.REG_MEMB_MESS) !== 0) {
      it('membership body decodes, agrees with the member list, and re-encodes', () => {
        const m: WireMessage = decodeMessage(p.bytes, 0, p.bytes.length, limits).value;
        const body = decodeMembershipBody(m.data, 0, m.data.length, true);
        expect(body.offset).toBe(m.data.length);
        const d = p.bytes.subarray(p.bytes.length - m.data.length);
        expect(body.value.groupId).toEqual({ procId: i32le(d, 0), time: i32le(d, 4), index: i32le(d, 8) });
        expect(body.value.vsSets.length).toBe(u32le(d, 12));
        expect(u32le(d, 16)).toBe(0); // lightweight: the single set is the receiver's
        expect(body.value.myVsSet).toBe(0);
        const changed = body.value.vsSets.flat();
        const type = m.header.type;
        // Lightweight changes name exactly the member that joined / left.
        expect(changed).toHaveLength(1);
        if (type & ServiceType.CAUSED_BY_JOIN) expect(m.groups).toContain(changed[0]);
        else expect(m.groups).not.toContain(changed[0]);
        expect(toHex(encodeMembershipBody(body.value))).toBe(toHex(m.data));
      });
    }
  });
});

describe('client captures: whole streams through one framer', () => {
  const streams = CLIENT_CAPTURES.flatMap((c) =>
    loadSessions(c).flatMap((s) =>
      (['to_server', 'to_client'] as const)
        .filter((d) => s.streams[d].pieces.some((p) => p.kind === 'frame'))
        .map((d) => [`${c}/${s.session}/${d}`, s.streams[d].bytes.subarray(s.streams[d].framesStart), s.streams[d].pieces.filter((p) => p.kind === 'frame')] as const),
    ),
  );

  function run(bytes: Uint8Array, cuts: number[], limits: HeaderLimits): string[] {
    const f = new MessageFramer(limits);
    const out: string[] = [];
    let prev = 0;
    for (const c of [...cuts, bytes.length]) {
      if (c > prev) f.push(bytes.subarray(prev, c));
      prev = c;
      for (let fr = f.next(); fr !== null; fr = f.next()) out.push(`${fr.length}:${fr.message.header.type.toString(16)}:${fr.message.groups.length}`);
    }
    expect(f.buffered).toBe(0);
    return out;
  }

  it.each(streams)('%s', (_id, bytes, pieces) => {
    const limits = limitsFor(pieces[0]!);
    const want = pieces.map((p) => `${p.bytes.length}:${((u32le(p.bytes, 0) & ~0x80000080) >>> 0).toString(16)}:${i32le(p.bytes, 36)}`);
    expect(run(bytes, [], limits)).toEqual(want);
    // Byte by byte.
    expect(run(bytes, Array.from({ length: bytes.length - 1 }, (_, i) => i + 1), limits)).toEqual(want);
    // Cuts one before, at and one after every frame boundary.
    const edges = pieces.flatMap((p) => {
      const e = p.streamOffset + p.bytes.length - pieces[0]!.streamOffset;
      return [e - 1, e, e + 1];
    }).filter((c) => c > 0 && c < bytes.length);
    expect(run(bytes, [...new Set(edges)].sort((a, b) => a - b), limits)).toEqual(want);
    // Seeded random chunk sizes, as a socket would deliver them.
    const rnd = prng(bytes.length);
    for (let round = 0; round < 5; round++) {
      const cuts: number[] = [];
      for (let c = 1 + Math.floor(rnd() * 300); c < bytes.length; c += 1 + Math.floor(rnd() * (round < 3 ? 300 : 70_000))) cuts.push(c);
      expect(run(bytes, cuts, limits)).toEqual(want);
    }
  });
});

describe('client captures: handshake pieces', () => {
  const pieces = allPieces().filter((p) => p.kind !== 'frame').map((p) => [p.id, p] as const);

  it('covers every handshake piece kind', () => {
    const kinds = new Set(pieces.map(([, p]) => p.kind));
    expect([...kinds].sort()).toEqual(['accept', 'auth_list', 'auth_reply', 'connect', 'reject']);
  });

  describe.each(pieces)('%s', (_id, p) => {
    const s = sessionOf(p);
    const at = 7;
    const embed = (): Uint8Array => {
      const big = new Uint8Array(at + p.bytes.length + 11).fill(FILL);
      big.set(p.bytes, at);
      return big;
    };

    if (p.kind === 'connect') {
      const patch = p.bytes[0]! * 10000 + p.bytes[1]! * 100 > 31400;
      const nameLenAt = patch ? 4 : 3;
      const nameLen = (p.bytes[nameLenAt]! << 24) >> 24;
      if (nameLen < 0 || nameLen > 10) {
        it('is refused (the reference answered REJECT_ILLEGAL_NAME)', () => {
          for (let k = 0; k <= nameLenAt; k++) expect(decodeConnect(p.bytes, 0, k)).toBeNull();
          const want = {
            code: 'BAD_VALUE', structure: 'connect', field: 'name_len', offset: nameLenAt,
            message: `connect.name_len at offset ${nameLenAt}: illegal value: expected 0..10, got ${nameLen}`,
          };
          for (let k = nameLenAt + 1; k <= p.bytes.length; k++) expectProtocolError(() => decodeConnect(p.bytes, 0, k), want);
          expectProtocolError(() => decodeConnect(embed(), at, at + p.bytes.length), { ...want, offset: at + nameLenAt, message: want.message.replace(`offset ${nameLenAt}`, `offset ${at + nameLenAt}`) });
          // Our encoder reproduces the (over-long) bytes the scripted client sent.
          const name = Buffer.from(p.bytes.subarray(nameLenAt + 1)).toString('latin1');
          expect(toHex(encodeConnect({ major: p.bytes[0]!, minor: p.bytes[1]!, patch: patch ? p.bytes[2]! : 0, flags: p.bytes[nameLenAt - 1]!, name }))).toBe(toHex(p.bytes));
        });
        return;
      }
      it('decodes whole, incrementally, at an offset, and re-encodes', () => {
        const d = decodeConnect(p.bytes, 0, p.bytes.length)!;
        expect(d.offset).toBe(p.bytes.length);
        expect(d.value).toEqual({
          major: p.bytes[0], minor: p.bytes[1], patch: patch ? p.bytes[2] : 0, flags: p.bytes[nameLenAt - 1],
          name: Buffer.from(p.bytes.subarray(nameLenAt + 1)).toString('latin1'),
        });
        expect(d.value.major * 10000 + d.value.minor * 100 + d.value.patch).toBe(s.clientVersion);
        const early = Array.from({ length: p.bytes.length }, (_, k) => k).filter((k) => decodeConnect(p.bytes, 0, k) !== null);
        expect(early).toEqual([]);
        const e = decodeConnect(embed(), at, at + p.bytes.length + 11)!;
        expect(e.offset).toBe(at + p.bytes.length);
        expect(e.value).toEqual(d.value);
        expect(toHex(encodeConnect(d.value))).toBe(toHex(p.bytes));
      });
      return;
    }

    if (p.kind === 'auth_list') {
      it('decodes whole, incrementally, at an offset, and re-encodes', () => {
        const d = decodeAuthList(p.bytes, 0, p.bytes.length)!;
        expect(d.offset).toBe(p.bytes.length);
        expect(d.value).toEqual({ kind: 'methods', methods: ['NULL'] });
        for (let k = 0; k < p.bytes.length; k++) expect(decodeAuthList(p.bytes, 0, k)).toBeNull();
        const e = decodeAuthList(embed(), at, at + p.bytes.length + 11)!;
        expect(e).toEqual({ value: d.value, offset: at + p.bytes.length });
        expect(toHex(encodeAuthList(['NULL']))).toBe(toHex(p.bytes));
      });
      return;
    }

    if (p.kind === 'auth_reply') {
      it('decodes whole, refuses every prefix, decodes at an offset, and re-encodes', () => {
        expect(p.bytes.length).toBe(90);
        const d = decodeAuthReply(p.bytes, 0, 90);
        expect(d).toEqual({ value: ['NULL'], offset: 90 });
        for (const k of [0, 1, 29, 30, 89]) {
          expectProtocolError(() => decodeAuthReply(p.bytes, 0, k), {
            code: 'TRUNCATED', structure: 'auth_reply', field: 'slots', offset: 0, expected: 90, actual: k,
            message: `auth_reply.slots at offset 0: truncated: expected 90, got ${k}`,
          });
        }
        expect(decodeAuthReply(embed(), at, at + 90 + 11)).toEqual({ value: ['NULL'], offset: at + 90 });
        expect(toHex(encodeAuthReply(d.value))).toBe(toHex(p.bytes));
      });
      return;
    }

    if (p.kind === 'accept') {
      it('decodes whole, incrementally, at an offset, and re-encodes', () => {
        const withPatch = acceptHasPatch(Math.floor(s.clientVersion / 10000), Math.floor(s.clientVersion / 100) % 100, s.clientVersion % 100);
        expect(withPatch).toBe(true); // every captured client is >= 3.15.0
        const d = decodeAccept(p.bytes, 0, p.bytes.length, withPatch)!;
        expect(d.offset).toBe(p.bytes.length);
        const name = Buffer.from(p.bytes.subarray(5)).toString('latin1');
        expect(d.value).toEqual({ kind: 'accept', accept: { major: 4, minor: 4, patch: 0, privateGroup: name } });
        expect(p.bytes[4]).toBe(name.length);
        // The private group is '#' + the name the client asked for + '#' + daemon name.
        if (s.session !== '(empty)') expect(name.startsWith(`#${s.session.replace(/@\d+$/, '')}#`)).toBe(true);
        for (let k = 0; k < p.bytes.length; k++) expect(decodeAccept(p.bytes, 0, k, withPatch)).toBeNull();
        const e = decodeAccept(embed(), at, at + p.bytes.length + 11, withPatch)!;
        expect(e).toEqual({ value: d.value, offset: at + p.bytes.length });
        if (d.value.kind === 'accept') expect(toHex(encodeAccept(d.value.accept, withPatch))).toBe(toHex(p.bytes));
      });
      return;
    }

    it('is a single negative byte read where the auth list (or accept) would be', () => {
      expect(p.bytes.length).toBe(1);
      const code = (p.bytes[0]! << 24) >> 24;
      expect(code).toBeLessThan(0);
      expect(decodeAuthList(p.bytes, 0, 1)).toEqual({ value: { kind: 'reject', code }, offset: 1 });
      expect(decodeAccept(p.bytes, 0, 1, true)).toEqual({ value: { kind: 'reject', code }, offset: 1 });
      expect(decodeAuthList(embed(), at, at + 1 + 11)).toEqual({ value: { kind: 'reject', code }, offset: at + 1 });
      expect(decodeAuthList(p.bytes, 0, 0)).toBeNull();
    });
  });
});

describe('client captures: a session read in order as each side would', () => {
  const sessions = CLIENT_CAPTURES.flatMap((c) => loadSessions(c).map((s) => [`${c}/${s.session}`, s] as const));

  it.each(sessions)('%s', (_id, s) => {
    // Daemon side: connect, then (if the daemon sent a list) the 90-byte reply, then frames.
    const up = s.streams.to_server.bytes;
    const pieceOffsets = (d: 'to_server' | 'to_client'): number[] => s.streams[d].pieces.map((p) => p.streamOffset);
    const seenUp: number[] = [0];
    let o = 0;
    let c: ReturnType<typeof decodeConnect> = null;
    try {
      c = decodeConnect(up, 0, up.length);
    } catch {
      c = null;
    }
    if (c !== null) {
      o = c.offset;
      if (s.streams.to_client.pieces[0]?.kind === 'auth_list' && up.length > o) {
        seenUp.push(o);
        o = decodeAuthReply(up, o, up.length).offset;
      }
      const f = new MessageFramer(CLIENT_TO_DAEMON_LIMITS);
      f.push(up.subarray(o));
      for (let fr = f.next(); fr !== null; fr = f.next()) {
        seenUp.push(o);
        o += fr.length;
      }
      expect(o).toBe(up.length);
    }
    expect(seenUp).toEqual(pieceOffsets('to_server'));

    // Client side: auth list (or early reject), accept (or reject), then frames.
    const down = s.streams.to_client.bytes;
    const seenDown: number[] = [];
    let d = 0;
    const list = decodeAuthList(down, 0, down.length);
    if (list !== null) {
      seenDown.push(0);
      d = list.offset;
      if (list.value.kind === 'methods') {
        const a = decodeAccept(down, d, down.length, true);
        if (a !== null) {
          seenDown.push(d);
          d = a.offset;
          expect(a.value.kind).toBe(s.accepted ? 'accept' : 'reject');
        }
      } else {
        expect(s.accepted).toBe(false);
      }
      const f = new MessageFramer(DAEMON_TO_CLIENT_LIMITS);
      f.push(down.subarray(d));
      for (let fr = f.next(); fr !== null; fr = f.next()) {
        seenDown.push(d);
        d += fr.length;
      }
    }
    expect(d).toBe(down.length);
    expect(seenDown).toEqual(pieceOffsets('to_client'));
  });
});

describe('client captures: protocol facts the SPEC cites', () => {
  const isRegularType = (p: Piece): boolean => (u32le(p.bytes, 0) & 0x3f) !== 0;

  it('regular messages are delivered byte for byte as the sender wrote them (hint included)', () => {
    for (const c of CLIENT_CAPTURES) {
      const sent = new Set(allFrames().filter((p) => p.capture === c && p.direction === 'to_server').map((p) => toHex(p.bytes)));
      const delivered = allFrames().filter((p) => p.capture === c && p.direction === 'to_client' && isRegularType(p));
      for (const p of delivered) expect(sent.has(toHex(p.bytes)), p.id).toBe(true);
    }
    expect(allFrames().filter((p) => p.direction === 'to_client' && isRegularType(p)).length).toBe(44);
  });

  it('membership messages name the group, carry a marker-only hint, and list members in num_groups', () => {
    const memb = allFrames().filter((p) => p.direction === 'to_client' && (u32le(p.bytes, 0) & 0x3f00) !== 0);
    expect(memb.map((p) => p.id.split(' ')[1])).toEqual([
      'REG_MEMB|CAUSED_BY_JOIN', 'CAUSED_BY_LEAVE', // client-single
      'REG_MEMB|CAUSED_BY_JOIN', 'REG_MEMB|CAUSED_BY_JOIN', 'REG_MEMB|CAUSED_BY_LEAVE', // client-two alice
      'REG_MEMB|CAUSED_BY_JOIN', 'CAUSED_BY_LEAVE', // client-two bob
      'REG_MEMB|CAUSED_BY_JOIN', // client-ns-bulk
    ]);
    for (const p of memb) {
      expect(u32le(p.bytes, 40), p.id).toBe(0x80000080);
      expect(cstr(p.bytes, 4, 32), p.id).toMatch(/^grp[AB]$/);
      if (u32le(p.bytes, 0) & ServiceType.REG_MEMB_MESS) expect(i32le(p.bytes, 44), p.id).toBe(56);
      else expect([i32le(p.bytes, 36), i32le(p.bytes, 44)], p.id).toEqual([0, 0]); // self-leave
    }
  });

  it('group index counts every change: 1 (alice joins), 2 (bob joins), 3 (bob leaves)', () => {
    const alice = allFrames().filter((p) => p.id.startsWith('client-two/alice/to_client/') && u32le(p.bytes, 0) & ServiceType.REG_MEMB_MESS);
    expect(alice.map((p) => i32le(p.bytes, p.bytes.length - 56 + 8))).toEqual([1, 2, 3]);
  });

  it('a client sends nothing after its KILL, and the daemon answers it with nothing', () => {
    for (const s of CLIENT_CAPTURES.flatMap((c) => loadSessions(c))) {
      const up = s.streams.to_server.pieces.filter((p) => p.kind === 'frame');
      const kills = up.filter((p) => u32le(p.bytes, 0) & ServiceType.KILL_MESS);
      if (kills.length === 0) continue;
      expect(kills).toHaveLength(1);
      expect(up[up.length - 1]).toBe(kills[0]);
      // The KILL names the sender's own private group as its one group.
      expect(cstr(kills[0]!.bytes, 48, 32)).toBe(cstr(kills[0]!.bytes, 4, 32));
      const down = s.streams.to_client.pieces.filter((p) => p.kind === 'frame');
      expect(down.every((p) => !(u32le(p.bytes, 0) & ServiceType.KILL_MESS))).toBe(true);
    }
  });

  it('the daemon writes membership lists ordered by daemon, then name', () => {
    const p = allFrames().find((x) => x.id === 'client-ns-bulk/alice/to_client/0 REG_MEMB|CAUSED_BY_JOIN')!;
    expect([cstr(p.bytes, 48, 32), cstr(p.bytes, 80, 32)]).toEqual(['#alice#sp1', '#bob#sp3']);
    const q = allFrames().find((x) => x.id === 'client-two/alice/to_client/1 REG_MEMB|CAUSED_BY_JOIN')!;
    expect([cstr(q.bytes, 48, 32), cstr(q.bytes, 80, 32)]).toEqual(['#alice#localhost', '#bob#localhost']);
  });
});
