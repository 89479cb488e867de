/**
 * The vector loader itself: every captured byte belongs to exactly one named piece, the pieces
 * are the ones the capture descriptions promise, and the hand-written key vectors quote the
 * captures faithfully.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { allFrames, allPieces, CLIENT_CAPTURES, loadSessions, pieceById, readCaptureFile, toHex, typeLabel } from './captures.js';
import { loadKeyVectors } from './key-vectors.js';

describe('capture splitter', () => {
  it.each(CLIENT_CAPTURES)('%s: pieces tile both streams of every session exactly', (name) => {
    const f = readCaptureFile(name);
    const sessions = loadSessions(name);
    expect(sessions).toHaveLength(f.tcp_sessions.length);
    for (const s of sessions) {
      for (const dir of ['to_server', 'to_client'] as const) {
        const { bytes, pieces } = s.streams[dir];
        let at = 0;
        for (const p of pieces) {
          expect(p.streamOffset, p.id).toBe(at);
          expect(toHex(p.bytes)).toBe(toHex(bytes.subarray(at, at + p.bytes.length)));
          at += p.bytes.length;
        }
        expect(at, `${name}/${s.session}/${dir} covered`).toBe(bytes.length);
      }
    }
  });

  it('names every piece uniquely', () => {
    const ids = allPieces().map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('finds the sessions and outcomes the capture descriptions promise', () => {
    const summary = CLIENT_CAPTURES.flatMap((c) =>
      loadSessions(c).map((s) => `${c}/${s.session} v${s.clientVersion} ${s.accepted ? 'accepted' : 'rejected'} ` +
        `${s.streams.to_server.pieces.length}/${s.streams.to_client.pieces.length}`),
    );
    expect(summary).toEqual([
      'client-single/alice v40400 accepted 6/5',
      'client-two/alice v40400 accepted 5/16',
      'client-two/bob v40400 accepted 15/15',
      'client-reject/carol@0 v40400 accepted 3/2',
      'client-reject/carol@1 v40400 rejected 1/1',
      'client-reject/dave@2 v31703 accepted 2/2',
      'client-reject/dave@3 v40400 accepted 2/2',
      'client-reject/abcdefghijk v40400 rejected 1/1',
      'client-reject/a#b v40400 rejected 1/1',
      'client-reject/(empty) v40400 accepted 2/2',
      'client-ns-bulk/alice v40400 accepted 25/24',
    ]);
  });

  it('labels type words from their bits', () => {
    expect(typeLabel(0x80001180)).toBe('REG_MEMB|CAUSED_BY_JOIN');
    expect(typeLabel(0x800000e0)).toBe('SAFE|SELF_DISCARD');
    expect(typeLabel(0x80000280)).toBe('CAUSED_BY_LEAVE');
    expect(typeLabel(0x80040080)).toBe('KILL');
    expect(typeLabel(0x01000000)).toBe('0x1000000');
  });

  it('masks exactly the bytes after the NUL of each KILL group name, and nothing else', () => {
    const masked = allFrames().filter((p) => p.mask !== null);
    expect(masked.map((p) => p.id)).toEqual([
      'client-single/alice/to_server/3 KILL',
      'client-two/alice/to_server/2 KILL',
      'client-two/bob/to_server/12 KILL',
      'client-reject/carol@0/to_server/0 KILL',
      'client-ns-bulk/alice/to_server/22 KILL',
    ]);
    for (const p of masked) {
      const mask = p.mask!;
      const nameLen = p.bytes.subarray(48, 80).indexOf(0);
      const ones = [...mask.keys()].filter((i) => mask[i] === 1);
      expect(ones, p.id).toEqual(Array.from({ length: 31 - nameLen }, (_, i) => 48 + nameLen + 1 + i));
    }
    // The garbage is real: at least one captured KILL carries non-zero bytes there.
    const garbage = masked.flatMap((p) => [...p.bytes].filter((v, i) => p.mask![i] === 1 && v !== 0));
    expect(garbage.length).toBeGreaterThan(0);
  });
});

describe('client-key-vectors.json quotes the captures', () => {
  const vectors = loadKeyVectors();

  it('has each case the brief asks for', () => {
    expect(vectors.map((v) => v.name)).toEqual(expect.arrayContaining([
      'join', 'agreed-mess-type-0x1234', 'reg-memb-lightweight-join', 'self-leave', 'transition', 'safe-self-discard',
      'big-fifo-5000', 'connect-old-3.17.3', 'accept-generated-name', 'reject-not-unique', 'reject-illegal-name-too-long',
      'reject-version', 'reject-auth', 'reject-quota',
    ]));
    expect(new Set(vectors.map((v) => v.name)).size).toBe(vectors.length);
  });

  it.each(vectors.filter((v) => v.origin === 'capture').map((v) => [v.name, v] as const))('%s matches its capture piece', (_n, v) => {
    expect(v.golden).toBe(true);
    const p = pieceById(v.ref);
    expect(p.kind).toBe(v.kind);
    if (v.hex !== undefined) {
      expect(v.hex).toBe(toHex(p.bytes));
    } else {
      expect(p.bytes.length).toBe(v.length);
      expect(createHash('sha256').update(p.bytes).digest('hex')).toBe(v.sha256);
    }
  });

  it('marks non-capture vectors honestly', () => {
    for (const v of vectors.filter((x) => x.origin !== 'capture')) {
      expect(v.golden, v.name).toBe(v.origin === 'notes');
      expect(v.hex, v.name).toMatch(/^([0-9a-f]{2})+$/);
      expect(() => pieceById(v.ref)).toThrow(/no capture vector/);
    }
  });
});
