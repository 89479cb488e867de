/** Shared bits of the UDP edge tests: reference captures, configurations on loopback, polling. */
import { readFileSync } from 'node:fs';
import { parseConfig, selectDaemon } from '../../src/daemon/config/index.js';
import type { DaemonSpec, SpreadConfig } from '../../src/daemon/config/index.js';
import { freePort } from '../../interop/launcher.js';
import { referenceCapturesDir } from '../vectors/reference.js';

export { sleep } from '../../interop/ring-scenarios.js';

export interface CapturedDatagram {
  t: number;
  src: string;
  dst: string;
  bytes: Uint8Array;
  /** Destination port 4803 = data channel, 4804 = token channel (the capture's segment port is 4803). */
  channel: 'data' | 'token';
  dstIp: number;
}

export function ipValue(dotted: string): number {
  const [a, b, c, d] = dotted.split('.').map(Number) as [number, number, number, number];
  return ((a << 24) | (b << 16) | (c << 8) | d) | 0;
}

/** The UDP datagrams of a reference capture (captures/NAME.json). */
export function loadCapture(name: string): CapturedDatagram[] {
  const json = JSON.parse(readFileSync(`${referenceCapturesDir()}${name}.json`, 'utf8')) as {
    udp_datagrams: { t: number; src: string; dst: string; hex: string }[];
  };
  return json.udp_datagrams.map((d) => {
    const [ip, port] = d.dst.split(':') as [string, string];
    return {
      t: d.t,
      src: d.src,
      dst: d.dst,
      bytes: Uint8Array.from(Buffer.from(d.hex, 'hex')),
      channel: port === '4804' ? ('token' as const) : ('data' as const),
      dstIp: ipValue(ip),
    };
  });
}

/** Hash of ring-lo-acc (its daemons log "Hash value for this configuration is: 407896669"). */
export const RING_LO_ACC_HASH = 407896669;

/** Two distinct free daemon ports whose port/port+1 pairs do not overlap. */
export async function freePorts(n: number): Promise<number[]> {
  const out: number[] = [];
  while (out.length < n) {
    const p = await freePort();
    if (out.every((q) => Math.abs(q - p) > 1)) out.push(p);
  }
  return out;
}

export interface TestConfig {
  text: string;
  config: SpreadConfig;
  daemon(name: string): DaemonSpec;
}

export function makeConfig(text: string): TestConfig {
  const config = parseConfig(text, 'test.conf');
  return { text, config, daemon: (name) => selectDaemon(config, { name, localAddresses: [] }) };
}

/** One segment per daemon on loopback: daemon i is `n<i>` at 127.0.0.(i+1), segment 127.0.i.255. */
export function loopbackSegments(ports: readonly number[], extra = ''): TestConfig {
  let text = '';
  ports.forEach((port, i) => {
    text += `Spread_Segment 127.0.${i}.255:${port} {\n\tn${i}\t127.0.0.${i + 1} {\n\t\t127.0.0.${i + 1}\n\t}\n}\n`;
  });
  return makeConfig(text + extra);
}

export async function waitFor(cond: () => boolean, timeoutMs = 2000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
