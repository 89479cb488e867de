/**
 * Replays the reference captures' client→daemon streams through the sans-I/O core and
 * compares every daemon→client byte. The ring id is injected (the captures' ring time is in
 * their membership bodies) and so are the generated-name inputs, so the comparison is exact.
 */
import { describe, expect, it } from 'vitest';
import { loadSessions } from '../vectors/captures.js';
import type { SessionStreams } from '../vectors/captures.js';
import { CAPTURE_RING_TIME, Harness, hex } from './harness.js';

function pieces(s: SessionStreams): Uint8Array[] {
  return s.streams.to_server.pieces.map((p) => p.bytes);
}

function session(capture: Parameters<typeof loadSessions>[0], name: string, nth = 0): SessionStreams {
  const all = loadSessions(capture).filter((s) => s.session === name || s.session.startsWith(`${name}@`));
  const found = all[nth];
  if (found === undefined) throw new Error(`${capture}: no session ${name} #${nth}`);
  return found;
}

describe('client-single: one client, join / SAFE / leave / disconnect', () => {
  const alice = session('client-single', 'alice');

  it('piece by piece: every byte the reference sent', () => {
    const h = new Harness({ ringTime: CAPTURE_RING_TIME });
    h.connect(1);
    for (const p of pieces(alice)) h.send(1, p);
    expect(hex(h.output(1))).toBe(hex(alice.streams.to_client.bytes));
    expect(h.closed.get(1)).toBe('flush');
    expect(h.core.stats.sessions).toBe(0);
  });

  it('one byte at a time', () => {
    const h = new Harness({ ringTime: CAPTURE_RING_TIME });
    h.connect(1);
    for (const b of alice.streams.to_server.bytes) h.send(1, Uint8Array.of(b));
    expect(hex(h.output(1))).toBe(hex(alice.streams.to_client.bytes));
  });

  it('at every split point of the stream in two chunks (ordering runs between chunks)', () => {
    const up = alice.streams.to_server.bytes;
    const want = hex(alice.streams.to_client.bytes);
    // The KILL ends the session at once: bytes queued by the same chunk still go out, but
    // deliveries of messages ordered after it do not. Split only before the KILL frame.
    const killAt = alice.streams.to_server.pieces.at(-1)!.streamOffset;
    for (let cut = 1; cut <= killAt; cut++) {
      const h = new Harness({ ringTime: CAPTURE_RING_TIME });
      h.connect(1);
      h.send(1, up.subarray(0, cut));
      h.send(1, up.subarray(cut, killAt));
      h.send(1, up.subarray(killAt));
      expect(hex(h.output(1)), `cut at ${cut}`).toBe(want);
    }
  });
});

describe('client-two: two clients, memberships, SAFE, 10 FIFO, leave', () => {
  const alice = session('client-two', 'alice');
  const bob = session('client-two', 'bob');

  it('replayed in the order the reference delivered them', () => {
    const a = pieces(alice);
    const b = pieces(bob);
    // to_server pieces: connect, auth_reply, then frames.
    // alice: JOIN, SAFE, KILL. bob: JOIN, 10 × FIFO, LEAVE, KILL.
    expect(a).toHaveLength(5);
    expect(b).toHaveLength(15);
    const h = new Harness({ ringTime: CAPTURE_RING_TIME });
    h.connect(1);
    h.connect(2);
    for (const p of a.slice(0, 3)) h.send(1, p); // alice joins
    for (const p of b.slice(0, 3)) h.send(2, p); // bob joins
    h.send(1, a[3]!); // alice SAFE
    for (const p of b.slice(3, 14)) h.send(2, p); // bob's 10 FIFO + LEAVE
    h.send(1, a[4]!); // alice disconnects
    h.send(2, b[14]!);
    expect(hex(h.output(1))).toBe(hex(alice.streams.to_client.bytes));
    expect(hex(h.output(2))).toBe(hex(bob.streams.to_client.bytes));
  });

  it('bob sends all of his messages in one chunk', () => {
    const a = pieces(alice);
    const b = pieces(bob);
    const h = new Harness({ ringTime: CAPTURE_RING_TIME });
    h.connect(1);
    h.connect(2);
    for (const p of a.slice(0, 3)) h.send(1, p);
    for (const p of b.slice(0, 3)) h.send(2, p);
    h.send(1, a[3]!);
    h.send(2, Buffer.concat(b.slice(3, 14)));
    h.send(1, a[4]!);
    expect(hex(h.output(1))).toBe(hex(alice.streams.to_client.bytes));
    expect(hex(h.output(2))).toBe(hex(bob.streams.to_client.bytes));
  });
});

describe('client-reject: rejected connects and a generated name', () => {
  const sessions = loadSessions('client-reject');

  it('every connection gets the reference bytes', () => {
    // Connection ids stand for the reference's socket fds where they matter (the generated
    // name `r5760-9` embeds fd 9), and the random draw is injected.
    const h = new Harness({ ringTime: CAPTURE_RING_TIME, random: () => 5760.5 / 9999 });
    expect(sessions.map((s) => s.session)).toEqual(['carol@0', 'carol@1', 'dave@2', 'dave@3', 'abcdefghijk', 'a#b', '(empty)']);
    const [carol, carol2, dave, dave2, tooLong, hash, empty] = sessions as [SessionStreams, ...SessionStreams[]];
    const check = (id: number, s: SessionStreams | undefined): void => {
      expect(hex(h.output(id)), s!.session).toBe(hex(s!.streams.to_client.bytes));
    };
    // carol connects; a second carol is refused while the first is still there; then the
    // first disconnects (its KILL frame).
    const [c0, c1, cKill] = pieces(carol);
    h.connect(4);
    h.send(4, c0!);
    h.send(4, c1!);
    h.connect(5);
    for (const p of pieces(carol2!)) h.send(5, p);
    check(5, carol2);
    expect(h.closed.get(5)).toBe('flush');
    h.send(4, cKill!);
    check(4, carol);
    // An old 3.17.3 client named dave, which then just closes its socket; the daemon's KILL
    // is delivered before the next dave arrives.
    h.connect(6);
    for (const p of pieces(dave!)) h.send(6, p);
    check(6, dave);
    h.eof(6);
    h.connect(7);
    for (const p of pieces(dave2!)) h.send(7, p);
    check(7, dave2);
    // name_len 11, a name with '#', and a generated name.
    h.connect(8);
    for (const p of pieces(tooLong!)) h.send(8, p);
    check(8, tooLong);
    h.connect(10);
    for (const p of pieces(hash!)) h.send(10, p);
    check(10, hash);
    h.connect(9);
    for (const p of pieces(empty!)) h.send(9, p);
    check(9, empty);
  });

  it('a name stays taken until the KILL of its previous session is delivered', () => {
    const h = new Harness({ autoOrder: false });
    const [c0, c1, cKill] = pieces(session('client-reject', 'carol'));
    h.connect(1);
    h.send(1, c0!);
    h.send(1, c1!);
    h.send(1, cKill!);
    h.connect(2);
    h.send(2, c0!);
    expect(hex(h.take(2))).toBe('fa');
    h.order();
    h.connect(3);
    h.send(3, c0!);
    expect(hex(h.take(3))).toBe('054e554c4c20');
  });
});
