/**
 * Capture-driven tests: each daemon life in the reference's ring captures is replayed through
 * the membership machine (capture-harness.ts), and every membership datagram it sends must be
 * the reference's: same sequence, destinations, bytes (outside the ranges the reference leaves
 * uninitialised), and time within 10 ms.
 *
 * Captures (the reference recordings: test/vectors/reference/captures; ours: test/wire-daemon/captures):
 * - ring-lo-acc: 3 one-daemon segments on loopback; start-up, singleton rings, merges through
 *   ring/segment representatives (FORM1 body 756), REFER, a SIGKILLed daemon (token loss),
 *   restart, lookup JOINs.
 * - ring-ns-acc / -orig / -unspec: one broadcast segment of 3 daemons (namespaces on a bridge):
 *   ALIVE, SEG → GATHER / REPRESENTED, JOINs by broadcast, a member killed and restarted.
 * - ring-lo3-mixed: like ring-lo-acc with DangerousMonitor, 5 % data loss, a monitor PARTITION
 *   {0,0,1} and its cancellation, a monitor RELOAD (token loss everywhere), lo3 killed while the
 *   FORM1 was on its way to it (FORM timeout at the two others), lo3 restarted.
 */
import { describe, expect, it } from 'vitest';
import { configHash } from '../../src/daemon/config/index.js';
import { procIdOf } from '../../src/wire/daemon/index.js';
import { compareSends, loadConf, loadPcap, replay, type LoadedCapture } from './capture-harness.js';
import { referenceCapturesDir, referenceConfDir } from '../vectors/reference.js';

const CAPTURES = referenceCapturesDir();
const CONFS = referenceConfDir();
const LOCAL = new URL('../wire-daemon/captures/', import.meta.url).pathname;

interface Life {
  ip: string;
  /** ms after the capture's first datagram; see the comment at each. */
  start: number;
  end?: number;
}

interface Case {
  name: string;
  pcap: string;
  conf: string;
  selfVisible: boolean;
  lives: Life[];
}

// Start times: a daemon that starts enters SEG at once. On a one-daemon segment its first
// datagram is the JOIN one Seg timeout (500 ms, + the reference's ~0.45 ms timer latency)
// later; on a shared segment it is the first ALIVE, sent at start. End times: just after the
// daemon's last datagram when it was killed.
const CASES: Case[] = [
  {
    name: 'ring-lo-acc', pcap: `${CAPTURES}ring-lo-acc.pcap`, conf: `${CONFS}lo3seg-acc.conf`, selfVisible: true,
    lives: [
      { ip: '127.0.0.1', start: -500.45, end: 38240 },
      { ip: '127.0.0.2', start: 3311.0 - 500.45, end: 15900 },
      { ip: '127.0.0.2', start: 25469.5 - 500.45, end: 38240 },
      { ip: '127.0.0.3', start: 6622.8 - 500.45 },
    ],
  },
  {
    name: 'ring-lo3-mixed', pcap: `${LOCAL}ring-lo3-mixed.pcap`, conf: `${LOCAL}lo3.conf`, selfVisible: true,
    lives: [
      { ip: '127.0.0.1', start: -500.45 },
      { ip: '127.0.0.2', start: 2830.4 - 500.45 },
      { ip: '127.0.0.3', start: 6647.4 - 500.45, end: 30100 },
      { ip: '127.0.0.3', start: 34558.9 - 500.45 },
    ],
  },
  ...(['acc', 'orig', 'unspec'] as const).map((v): Case => ({
    name: `ring-ns-${v}`, pcap: `${CAPTURES}ring-ns-${v}.pcap`, conf: `${CONFS}ns3-${v}.conf`, selfVisible: false,
    lives: [
      { ip: '10.77.0.1', start: -0.1, end: 38735 },
      { ip: '10.77.0.2', start: { acc: 3311.8, orig: 3311.6, unspec: 3310.5 }[v] - 0.1, end: 16400 },
      { ip: '10.77.0.2', start: { acc: 26384.0, orig: 25567.5, unspec: 25872.6 }[v] - 0.1, end: { acc: 40240, orig: 40490, unspec: 38740 }[v] },
      { ip: '10.77.0.3', start: 6621.2 },
    ],
  })),
];

const captures = new Map<string, LoadedCapture>();
function capture(path: string): LoadedCapture {
  let c = captures.get(path);
  if (c === undefined) {
    c = loadPcap(path);
    captures.set(path, c);
  }
  return c;
}

describe.each(CASES)('$name', (c) => {
  const config = loadConf(c.conf);

  it('is the configuration the daemons ran (same hash on the wire)', () => {
    const hashes = new Set(capture(c.pcap).wires.filter((w) => w.d.kind === 'join').map((w) => w.d.header.confHash));
    expect([...hashes]).toEqual([configHash(config)]);
  });

  it.each(c.lives)('daemon $ip from $start ms: every membership datagram is the reference\'s', (life) => {
    const cap = capture(c.pcap);
    const r = replay({ capture: cap, config, ip: life.ip, start: life.start, selfVisible: c.selfVisible, ...(life.end !== undefined ? { end: life.end } : {}) });
    const cmp = compareSends(r.ours, r.theirs, 10);
    expect(cmp.error).toBeNull();
    expect(r.theirs.length).toBeGreaterThan(10);

    // Every ring of several daemons it installed is a ring whose token the capture carries,
    // and the transitional configuration before it is a subset of its old and new rings.
    const myId = procIdOf(life.ip);
    const tokenRings = new Set(cap.wires.filter((w) => w.d.kind === 'token').map((w) => `${w.d.header.membId.procId},${w.d.header.membId.time}`));
    const regulars = r.configurations.filter((x) => x.kind === 'regular');
    expect(regulars.length).toBeGreaterThan(0);
    for (const x of regulars) if (x.members.length > 1) expect(tokenRings.has(`${x.id.procId},${x.id.time}`)).toBe(true);
    r.configurations.forEach((x, k) => {
      expect(x.members).toContain(myId);
      if (x.kind === 'transitional') {
        const next = r.configurations[k + 1]!;
        expect(next.kind).toBe('regular');
        for (const id of x.members) expect(next.members).toContain(id);
      }
    });
    expect(r.membership.status().members).toContain(myId);
  });
});
