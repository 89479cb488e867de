import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isMulticastIp, ipString, planUdp } from '../../src/daemon/net/udp-plan.js';
import { ipValue, makeConfig } from './support.js';
import { referenceConfDir } from '../vectors/reference.js';


function refConf(name: string) {
  return makeConfig(readFileSync(`${referenceConfDir()}${name}`, 'utf8'));
}

function binds(plan: ReturnType<typeof planUdp>): string[] {
  return plan.binds.map((b) => `${b.channel} ${b.role} ${b.address}:${b.port}${b.multicast ? ` join ${b.multicast.group}@${b.multicast.iface ?? 'any'}` : ''}`);
}

describe('planUdp (Net_init socket plan)', () => {
  it('loopback, one segment per daemon with an interface block: interface sockets only', () => {
    const c = refConf('lo3seg-acc.conf');
    const plan = planUdp(c.config, c.daemon('lo2'));
    expect(binds(plan)).toEqual(['data interface 127.0.0.2:4803', 'token interface 127.0.0.2:4804']);
    expect(plan.bcastNeeded).toBe(false);
    expect(plan.myId).toBe(ipValue('127.0.0.2'));
    expect(plan.segmentIndex).toBe(1);
    expect(plan.segments.map((s) => `${s.address}:${s.port}/${s.numDaemons}`)).toEqual(['127.0.0.255:4803/1', '127.0.1.255:4803/1', '127.0.2.255:4803/1']);
    expect([...plan.peers.values()].map((p) => `${p.name}@${p.address}:${p.port}#${p.segmentIndex}`)).toEqual([
      'lo1@127.0.0.1:4803#0', 'lo2@127.0.0.2:4803#1', 'lo3@127.0.0.3:4803#2',
    ]);
  });

  it('one broadcast segment, daemons without a block: wildcard (ANY) sockets, no extra segment socket', () => {
    const c = refConf('ns3-acc.conf');
    const plan = planUdp(c.config, c.daemon('sp2'));
    expect(binds(plan)).toEqual(['data interface 0.0.0.0:4803', 'token interface 0.0.0.0:4804']);
    expect(plan.bcastNeeded).toBe(true);
    expect(plan.myAddress).toBe('10.77.0.2');
  });

  it('several daemons in a segment and specific interfaces: the segment address is bound first, once', () => {
    const c = makeConfig(`Spread_Segment 10.1.0.255:5000 {
\ta 10.1.0.1 {
\t\tD 10.1.0.1
\t\tC 192.168.5.1
\t\tD 10.2.0.1
\t}
\tb 10.1.0.2
}
`);
    const plan = planUdp(c.config, c.daemon('a'));
    expect(binds(plan)).toEqual([
      'data segment 10.1.0.255:5000',
      'data interface 10.1.0.1:5000',
      'token interface 10.1.0.1:5001',
      'data interface 10.2.0.1:5000',
      'token interface 10.2.0.1:5001',
    ]);
  });

  it('a multicast segment joins the group on the segment socket (any) and on each interface', () => {
    const c = makeConfig(`Spread_Segment 239.255.7.7:5000 {
\ta 10.1.0.1 {
\t\t10.1.0.1
\t}
\tb 10.1.0.2
}
`);
    expect(binds(planUdp(c.config, c.daemon('a')))).toEqual([
      'data segment 239.255.7.7:5000 join 239.255.7.7@any',
      'data interface 10.1.0.1:5000 join 239.255.7.7@10.1.0.1',
      'token interface 10.1.0.1:5001',
    ]);
    // b has no block (ANY): wildcard sockets, joined on any interface.
    expect(binds(planUdp(c.config, c.daemon('b')))).toEqual([
      'data interface 0.0.0.0:5000 join 239.255.7.7@any',
      'token interface 0.0.0.0:5001',
    ]);
  });

  it('a multicast segment with a single daemon joins nothing (no broadcast needed)', () => {
    const c = makeConfig('Spread_Segment 239.255.7.7:5000 {\n\ta 10.1.0.1\n}\n');
    expect(binds(planUdp(c.config, c.daemon('a')))).toEqual(['data interface 0.0.0.0:5000', 'token interface 0.0.0.0:5001']);
  });

  it('interfaces that are not D (nor ANY) get no socket', () => {
    const c = makeConfig('Spread_Segment 127.0.0.255:5000 {\n\ta 127.0.0.1 {\n\t\tC 127.0.0.1\n\t\tM 127.0.0.1\n\t}\n}\n');
    expect(planUdp(c.config, c.daemon('a')).binds).toEqual([]);
  });

  it('address helpers', () => {
    expect(isMulticastIp(ipValue('224.0.0.1'))).toBe(true);
    expect(isMulticastIp(ipValue('239.255.255.255'))).toBe(true);
    expect(isMulticastIp(ipValue('240.0.0.1'))).toBe(false);
    expect(isMulticastIp(ipValue('10.0.0.255'))).toBe(false);
    expect(ipString(ipValue('192.168.1.254'))).toBe('192.168.1.254');
    expect(ipString(0xc0a801fe)).toBe('192.168.1.254');
  });
});
