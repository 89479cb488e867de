/**
 * The UDP edge next to a live reference daemon: same configuration, the reference as n0 and
 * our edge (sockets only, no protocol) as n1. The reference's JOINs reach the edge and pass its
 * drop rules; a reference daemon of another configuration is dropped as wrongHash.
 */
import { describe, expect, it } from 'vitest';
import { referencePrefix, skipLine, startDaemon } from '../../interop/launcher.js';
import { configHash } from '../../src/daemon/config/index.js';
import { UdpEdge } from '../../src/daemon/net/udp.js';
import { PacketType } from '../../src/wire/daemon/constants.js';
import { freePorts, loopbackSegments, waitFor } from './support.js';

const ref = referencePrefix();
if (ref === undefined) skipLine('net: UDP edge next to a reference daemon');

describe.skipIf(ref === undefined)('UdpEdge next to the reference daemon', () => {
  it('receives the reference\'s JOINs under the same configuration hash; drops them under another', { timeout: 60_000 }, async () => {
    const ports = await freePorts(2);
    const c = loopbackSegments(ports);
    const types: number[] = [];
    const edge = await UdpEdge.open({
      config: c.config,
      self: c.daemon('n1'),
      onDatagram: (channel, bytes) => {
        if (channel === 'data') types.push(new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true) & ~0x80000080);
      },
    });
    try {
      const d = await startDaemon({ impl: 'reference', name: 'n0', port: ports[0]!, configText: c.text, host: '127.0.0.1' });
      try {
        expect(d.log()).toContain(`Hash value for this configuration is: ${edge.confHash}`);
        await waitFor(() => types.some((t) => (t & PacketType.JOIN) !== 0), 10_000, 'a JOIN from the reference');
        expect(edge.stats.data.dropped.wrongHash).toBe(0);
        expect(edge.stats.data.dropped.badLength).toBe(0);
      } finally {
        await d.stop();
      }

      // The same layout with another hash (AcceleratedRing = true; absent hashes like false): all dropped.
      const other = loopbackSegments(ports, 'AcceleratedRing = true\n');
      expect(configHash(other.config)).not.toBe(edge.confHash);
      const before = edge.stats.data.delivered;
      const d2 = await startDaemon({ impl: 'reference', name: 'n0', port: ports[0]!, configText: other.text, host: '127.0.0.1' });
      try {
        await waitFor(() => edge.stats.data.dropped.wrongHash > 0, 10_000, `a datagram of the other configuration (stats ${JSON.stringify(edge.stats.data)})`);
        expect(edge.stats.data.delivered).toBe(before);
      } finally {
        await d2.stop();
      }
    } finally {
      await edge.close();
    }
  });
});
