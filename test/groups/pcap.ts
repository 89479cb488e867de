/**
 * What a reference run left in a capture: the frames each client received and the GROUPS
 * messages put on the ring.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ServiceType } from '../../src/wire/client/index.js';
import { decodeDatagram } from '../../src/wire/daemon/index.js';
import { readCapture, type Capture } from '../../src/wire/pcap/index.js';
import { hex } from './cluster.js';

export function loadCapture(name: string): Capture {
  return readCapture(readFileSync(fileURLToPath(new URL(`./captures/${name}`, import.meta.url))));
}

/**
 * Every frame each client received after its handshake, by private group name; with
 * `membershipOnly`, regular messages are left out.
 */
export function clientFrames(cap: Capture, membershipOnly = false): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const c of cap.connections) {
    const d = c.toClient.data;
    if (d.length === 0) continue;
    let o = 1 + d[0]!; // auth method list: length, "NULL "
    o += 4; // accept: result, version
    const n = d[o]!;
    const me = Buffer.from(d.subarray(o + 1, o + 1 + n)).toString('latin1');
    o += 1 + n;
    const dv = new DataView(d.buffer, d.byteOffset, d.length);
    const frames: string[] = [];
    while (o < d.length) {
      const len = 48 + 32 * dv.getInt32(o + 36, true) + dv.getInt32(o + 44, true);
      const regular = (dv.getUint32(o, true) & 0x3f) !== 0;
      if (!membershipOnly || !regular) frames.push(hex(d.subarray(o, o + len)));
      o += len;
    }
    out.set(me, frames);
  }
  return out;
}

/** GROUPS messages per ring id ("procId,time"), in ring (seq) order; retransmissions count once. */
export function groupsOnRing(cap: Capture): Map<string, string[]> {
  const bySeq = new Map<string, Map<number, string>>();
  for (const u of cap.udp) {
    if (u.dst.port % 10 === 4) continue;
    const d = decodeDatagram(u.payload, 'data');
    if (d.kind !== 'data') continue;
    for (const f of d.fragments) {
      if (f.index !== -1 || f.message == null || !(f.message.type & ServiceType.GROUPS_MESS)) continue;
      const ring = `${d.header.membId.procId},${d.header.membId.time}`;
      const m = bySeq.get(ring) ?? new Map<number, string>();
      m.set(d.header.seq, hex(f.data));
      bySeq.set(ring, m);
    }
  }
  return new Map([...bySeq].map(([k, m]) => [k, [...m.keys()].sort((a, b) => a - b).map((s) => m.get(s)!)]));
}

/**
 * Every message (reassembled from its fragments) of ring `ringKey` ("procId,time"), in the
 * ring's delivery order (the seq of the packet completing it), with its originating daemon.
 */
export function ringMessages(cap: Capture, ringKey: string): Array<{ sender: number; bytes: Uint8Array }> {
  const packets = new Map<number, { procId: number; fragments: Array<{ index: number; data: Uint8Array }> }>();
  for (const u of cap.udp) {
    if (u.dst.port % 10 === 4) continue;
    const d = decodeDatagram(u.payload, 'data');
    if (d.kind !== 'data' || `${d.header.membId.procId},${d.header.membId.time}` !== ringKey) continue;
    packets.set(d.header.seq, { procId: d.header.procId, fragments: d.fragments.map((f) => ({ index: f.index, data: f.data })) });
  }
  const pending = new Map<number, Uint8Array[]>();
  const out: Array<{ sender: number; bytes: Uint8Array }> = [];
  for (const seq of [...packets.keys()].sort((a, b) => a - b)) {
    const p = packets.get(seq)!;
    for (const f of p.fragments) {
      const parts = f.index === 1 || f.index === -1 ? [] : (pending.get(p.procId) ?? []);
      parts.push(f.data);
      if (f.index < 0) {
        out.push({ sender: p.procId, bytes: Buffer.concat(parts) });
        pending.delete(p.procId);
      } else {
        pending.set(p.procId, parts);
      }
    }
  }
  return out;
}
