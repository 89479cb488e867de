/**
 * Unit tests of the core's parts: the message reader, the groups layer, the local ring,
 * names and the IP access file.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadAccessFile } from '../../src/daemon/access-file.js';
import { AccessFileError, authenticate, ipAllowed, offeredMethods, parseAccessIp } from '../../src/daemon/core/auth.js';
import { buildKill, ringMessageFromFrame, serviceClassOf } from '../../src/daemon/core/frames.js';
import { GroupsLayer } from '../../src/daemon/core/groups.js';
import { parsePrivateGroupStrict } from '../../src/daemon/core/names.js';
import { LocalRing } from '../../src/daemon/core/ordering.js';
import { ClientMessageReader, takesPacketRoom } from '../../src/daemon/core/reader.js';
import { clientAddressValue, ipToProcId, procIdToIp } from '../../src/daemon/core/types.js';
import { frame, hex, membershipBody, parseFrames, T } from './harness.js';

const ALICE = '#alice#localhost';

describe('ClientMessageReader', () => {
  const frames = [
    frame({ type: T.JOIN, sender: ALICE, groups: ['g'] }),
    frame({ type: T.AGREED, sender: ALICE, groups: ['g', 'h'], data: 'hello' }),
    frame({ type: T.SAFE, sender: ALICE, groups: [], data: new Uint8Array(3000).fill(9) }),
    frame({ type: T.KILL, sender: ALICE, groups: [ALICE] }),
  ];
  const stream = Buffer.concat(frames);

  it('yields the same frames however the stream is chunked (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: stream.length }), { maxLength: 20 }), (cuts) => {
        const points = [...new Set(cuts)].sort((a, b) => a - b);
        const reader = new ClientMessageReader('alice', 'localhost');
        const got: string[] = [];
        let at = 0;
        for (const p of [...points, stream.length]) {
          for (const r of reader.push(stream.subarray(at, p))) {
            expect(r.kind).toBe('message');
            if (r.kind === 'message') got.push(hex(r.message.frame));
          }
          at = p;
        }
        expect(got).toEqual(frames.map(hex));
        expect(reader.buffered).toBe(0);
      }),
      { numRuns: 200 },
    );
  });

  it('gives the parsed view: type without marker, sender, groups, service class', () => {
    const reader = new ClientMessageReader('alice', 'localhost');
    const [r] = reader.push(frames[1]!);
    expect(r?.kind).toBe('message');
    if (r?.kind !== 'message') return;
    expect(r.message).toMatchObject({ type: T.AGREED, sender: ALICE, groups: ['g', 'h'], dataLen: 5, service: 'agreed' });
  });

  it('keeps room for a packet header before a frame that fills more than half a packet, and only there', () => {
    const reader = new ClientMessageReader('alice', 'localhost');
    // 48-byte header + one group: data lengths putting the frame at 716, 717, 1432 and 1433 bytes.
    const sized = [636, 637, 1352, 1353].map((n) => frame({ type: T.AGREED, sender: ALICE, groups: ['g'], data: new Uint8Array(n).fill(7) }));
    const got = reader.push(Buffer.concat(sized)).map((r) => (r.kind === 'message' ? r.message : null));
    expect(got.map((m) => [m?.frame.length, m?.packetRoom])).toEqual([[716, false], [717, true], [1432, true], [1433, false]]);
    for (const m of got.filter((x) => x?.packetRoom)) {
      const before = new Uint8Array(m!.frame.buffer, m!.frame.byteOffset - 40, 40);
      expect(before.every((b) => b === 0)).toBe(true);
    }
    expect(got.map((m) => hex(m!.frame))).toEqual(sized.map(hex));
    expect([716, 717, 1432, 1433].map(takesPacketRoom)).toEqual([false, true, true, false]);
    // A frame gathered from two chunks is in a buffer of its own, without room.
    const split = reader.push(sized[2]!.subarray(0, 100));
    expect(split).toEqual([]);
    const [whole] = reader.push(sized[2]!.subarray(100));
    expect(whole?.kind === 'message' && whole.message.packetRoom).toBe(false);
  });

  it('stops for good at the first bad header', () => {
    const reader = new ClientMessageReader('alice', 'localhost');
    const bad = frame({ type: T.AGREED, sender: '#bob#localhost', groups: ['g'] });
    const rs = reader.push(Buffer.concat([frames[0]!, bad, frames[1]!]));
    expect(rs.map((r) => r.kind)).toEqual(['message', 'violation']);
    expect(reader.push(frames[1]!)).toEqual([]);
  });
});

describe('frames', () => {
  it('maps services to ring classes like the reference (E.1)', () => {
    expect([T.UNRELIABLE, T.RELIABLE, T.FIFO, T.CAUSAL, T.AGREED, T.SAFE, T.JOIN, T.LEAVE, T.KILL, T.KILL | T.SAFE].map(serviceClassOf)).toEqual([
      'reliable',
      'reliable',
      'fifo',
      'agreed',
      'agreed',
      'safe',
      'agreed',
      'agreed',
      'agreed',
      'safe',
    ]);
  });

  it('normalises a big-endian frame from another daemon (hint untouched)', () => {
    const be = frame({ type: T.AGREED, sender: ALICE, groups: ['g'], data: 'xy', hint: 0x00123480, bigEndian: true });
    const m = ringMessageFromFrame(be);
    expect(m).toMatchObject({ type: T.AGREED, sender: ALICE, groups: ['g'], dataLen: 2 });
    expect(hex(m.frame)).toBe(hex(frame({ type: T.AGREED, sender: ALICE, groups: ['g'], data: 'xy', hint: 0x00123480 })));
    expect(() => ringMessageFromFrame(be.subarray(0, 60))).toThrow(RangeError);
  });

  it('the daemon KILL is KILL|SAFE with no groups and no data (a0 00 04 80)', () => {
    const k = buildKill(ALICE);
    expect(hex(k.frame.subarray(0, 4))).toBe('a0000480');
    expect(hex(k.frame.subarray(36))).toBe('00000000' + '80000080' + '00000000');
    expect(ringMessageFromFrame(k.frame)).toMatchObject({ sender: ALICE, groups: [], service: 'safe' });
  });
});

describe('names', () => {
  it('parses private groups with the reference rules', () => {
    expect(parsePrivateGroupStrict('#alice#localhost')).toEqual({ privateName: 'alice', daemonName: 'localhost' });
    expect(parsePrivateGroupStrict('#abcdefghij#d')).not.toBeNull();
    for (const bad of ['alice', '#alice', '##d', '#a#', '#abcdefghijk#d', '#a#b#c', '#a b#d', '#a#12345678901234567890', '#a\x80#d', '']) {
      expect(parsePrivateGroupStrict(bad), JSON.stringify(bad)).toBeNull();
    }
  });

  it('proc ids are the IP as a host-order int32', () => {
    expect(ipToProcId('127.0.0.1')).toBe(0x7f000001);
    expect(ipToProcId('192.168.0.1')).toBe(0xc0a80001 | 0);
    expect(procIdToIp(0xc0a80001 | 0)).toBe('192.168.0.1');
    expect(clientAddressValue('::ffff:10.1.2.3')).toBe(0x0a010203);
    expect(clientAddressValue('::1')).toBe(0);
    expect(() => ipToProcId('1.2.3')).toThrow(RangeError);
  });
});

describe('GroupsLayer', () => {
  const daemons = [
    { name: 'd1', procId: ipToProcId('10.0.0.1') },
    { name: 'd2', procId: ipToProcId('10.0.0.2') },
    { name: 'd3', procId: ipToProcId('10.0.0.3') },
  ];
  const ring = { procId: ipToProcId('10.0.0.1'), time: 1000 };

  it('lists members by daemon in configuration order, then by name', () => {
    const g = new GroupsLayer({ myDaemon: 'd2', daemons });
    g.installRegular(ring);
    for (const m of ['#z#d3', '#b#d2', '#y#d1', '#a#d2', '#x#d1']) g.join(m, 'grp');
    expect(g.members('grp')).toEqual(['#x#d1', '#y#d1', '#a#d2', '#b#d2', '#z#d3']);
    expect(g.localMembers('grp')).toEqual(['#b#d2', '#a#d2']);
    expect(g.groupId('grp')).toEqual({ ringId: ring, index: 5 });
  });

  it('notifies only local members; remote-only groups produce no notices', () => {
    const g = new GroupsLayer({ myDaemon: 'd2', daemons });
    g.installRegular(ring);
    expect(g.join('#x#d1', 'grp')).toEqual([]);
    const notes = g.join('#a#d2', 'grp');
    expect(notes).toHaveLength(1);
    expect(notes[0]!.recipients).toEqual(['#a#d2']);
    const [f] = parseFrames(notes[0]!.frame);
    expect(f!.groups).toEqual(['#x#d1', '#a#d2']);
    expect(membershipBody(f!.data)).toMatchObject({ procId: ring.procId, time: 1000, index: 2, sets: [['#a#d2']] });
  });

  it('ignores members of unknown daemons and malformed names', () => {
    const warnings: string[] = [];
    const g = new GroupsLayer({ myDaemon: 'd2', daemons, warn: (m) => warnings.push(m) });
    g.installRegular(ring);
    expect(g.join('#a#d9', 'grp')).toEqual([]);
    expect(g.join('nope', 'grp')).toEqual([]);
    expect(g.size).toBe(0);
    expect(warnings).toHaveLength(2);
  });

  it('targets: dedups across groups, resolves local private groups only', () => {
    const g = new GroupsLayer({ myDaemon: 'd2', daemons });
    g.installRegular(ring);
    g.join('#a#d2', 'g1');
    g.join('#b#d2', 'g1');
    g.join('#a#d2', 'g2');
    g.join('#x#d1', 'g2');
    const has = (pg: string): boolean => pg === '#c#d2' || pg === '#a#d2';
    expect(g.targets(['g1', 'g2', '#c#d2', '#x#d1', '#a#d2'], has)).toEqual(['#a#d2', '#b#d2', '#c#d2']);
    expect(g.targets(['nope'], has)).toEqual([]);
  });

  it('kill removes the member everywhere, deletes emptied groups', () => {
    const g = new GroupsLayer({ myDaemon: 'd1', daemons });
    g.installRegular(ring);
    g.join('#a#d1', 'g1');
    g.join('#a#d1', 'g2');
    g.join('#b#d1', 'g2');
    const notes = g.kill('#a#d1');
    expect(g.groupNames()).toEqual(['g2']);
    expect(notes).toHaveLength(1);
    expect(notes[0]!.recipients).toEqual(['#b#d1']);
    expect(g.groupId('g2')!.index).toBe(3);
  });
});

describe('LocalRing', () => {
  it('forms at once, then orders messages in submission order', () => {
    const r = new LocalRing({ procId: 0x7f000001, formationTime: 1234 });
    const k1 = buildKill('#a#d');
    const k2 = buildKill('#b#d');
    r.submit(k1);
    expect(r.poll()).toBeNull(); // no ring yet
    r.start();
    r.submit(k2);
    expect(r.backlog).toBe(2);
    expect(r.poll()).toEqual({ kind: 'regular', ringId: { procId: 0x7f000001, time: 1234 }, members: [0x7f000001] });
    expect(r.poll()).toEqual({ kind: 'message', message: k1 });
    expect(r.poll()).toEqual({ kind: 'message', message: k2 });
    expect(r.poll()).toBeNull();
    expect(r.backlog).toBe(0);
  });

  it('takes new messages from the down queue the groups layer set last', () => {
    const r = new LocalRing({ procId: 0x7f000001, formationTime: 1234 });
    r.start();
    r.poll();
    const client = buildKill('#a#d');
    const groups = buildKill('#g#d');
    r.submit(client);
    r.submitGroups(groups);
    r.setDownQueue('groups');
    r.setDeliveryLevel('agreed');
    expect(r.backlog).toBe(2);
    expect(r.poll()).toEqual({ kind: 'groups', raw: groups.frame });
    expect(r.poll()).toBeNull(); // the client message waits for the normal queue
    r.setDownQueue('normal');
    expect(r.poll()).toEqual({ kind: 'message', message: client });
    expect(r.backlog).toBe(0);
  });
});

describe('IP access file and auth policy', () => {
  it('parses like the reference: comments, unix, local, a.b.c.d[/n]', () => {
    const f = parseAccessIp('# comment\nunix\nlocalhost\n10.1.2.3\n192.168.0.0/16\n172.16.0.0/12 trailing\n');
    expect(f.rules).toEqual([
      { network: 0, prefix: 32 },
      { network: 0x7f000000, prefix: 8 },
      { network: 0x0a010203, prefix: 32 },
      { network: 0xc0a80000, prefix: 16 },
      { network: 0xac100000, prefix: 12 },
    ]);
    expect(f.stoppedAtLine).toBeNull();
  });

  it('stops at a line with fewer than three dots (an empty line too), fails on a bad address line', () => {
    expect(parseAccessIp('10.0.0.1\n\n10.0.0.2\n')).toEqual({ rules: [{ network: 0x0a000001, prefix: 32 }], stoppedAtLine: 2 });
    expect(() => parseAccessIp('a.b.c.d\n')).toThrow(AccessFileError);
  });

  it('matches the masked client address against the rule as written', () => {
    expect(ipAllowed([{ network: 0x0a000000, prefix: 8 }], 0x0a0b0c0d)).toBe(true);
    expect(ipAllowed([{ network: 0x0a000001, prefix: 8 }], 0x0a000001)).toBe(false); // network not masked
    expect(ipAllowed([{ network: 0, prefix: 32 }], 0)).toBe(true);
  });

  it('offers enabled methods in registration order, ignoring unknown names', () => {
    expect(offeredMethods({ allowed: ['IP', 'NULL', 'PWORD'], required: [], ipRules: null })).toEqual(['NULL', 'IP']);
    expect(authenticate({ allowed: ['NULL'], required: [], ipRules: null }, ['NULL', 'NULL'], { address: 0 })).toBe(true);
  });

  it('loads the first access file found, or nothing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'spread-ts-acl-'));
    try {
      const second = join(dir, 'second');
      writeFileSync(second, 'unix\n');
      expect(loadAccessFile([join(dir, 'missing'), second])).toEqual({ rules: [{ network: 0, prefix: 32 }], stoppedAtLine: null, path: second });
      expect(loadAccessFile([join(dir, 'missing')])).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
