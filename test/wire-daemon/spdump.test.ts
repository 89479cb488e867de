/**
 * spdump on every shared capture and on ours: --verify exits 0 with the expected counts,
 * --json lines parse, port detection, exit codes.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/tools/spdump.js';
import { CLIENT_CAPTURES, LOCAL, RING_CAPTURES, SHARED } from './support.js';

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(args, { stdout: (t) => void (out += t), stderr: (t) => void (err += t) });
  return { code, out, err };
}

const VERIFY: Record<string, { datagrams: number; frames?: number }> = {
  'ring-lo-acc': { datagrams: 553 },
  'ring-ns-acc': { datagrams: 469 },
  'ring-ns-orig': { datagrams: 462 },
  'ring-ns-unspec': { datagrams: 459 },
  'ring-ns-acc-bulk': { datagrams: 2565 },
  'client-ns-bulk': { datagrams: 0, frames: 45 },
  'client-reject': { datagrams: 0, frames: 1 },
  'client-single': { datagrams: 0, frames: 7 },
  'client-two': { datagrams: 0, frames: 43 },
};

describe('spdump --verify', () => {
  for (const name of [...RING_CAPTURES, ...CLIENT_CAPTURES]) {
    it(name, async () => {
      const r = await run([`${SHARED}${name}.pcap`, '--verify']);
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      const { datagrams: n, frames } = VERIFY[name]!;
      expect(r.out).toMatch(new RegExp(`^verified ${n}/${n} datagrams byte-exact \\(semantic re-encoding with uninitialised bytes zeroed: ${n}/${n} equal outside \\d+ masked bytes in \\d+ ranges\\)$`, 'm'));
      if (frames !== undefined) expect(r.out).toMatch(new RegExp(`^verified ${frames}/${frames} client message frames equal outside \\d+ masked name-tail bytes`, 'm'));
      expect(r.out).not.toMatch(/^DIFF/m);
    });
  }

  it('ring-lo3-mixed (our capture, ports 26803/26813/26823 and 6543 found by detection)', async () => {
    const r = await run([`${LOCAL}ring-lo3-mixed.pcap`, '--verify']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^verified 778\/778 datagrams byte-exact/m);
    expect(r.out).toMatch(/^verified 14\/14 client message frames/m);
    const none = await run([`${LOCAL}ring-lo3-mixed.pcap`, '--verify', '--no-detect']);
    expect(none.out).toMatch(/^verified 0\/0 datagrams/m);
    const ports = await run([`${LOCAL}ring-lo3-mixed.pcap`, '--verify', '--no-detect', '--port', '26803', '--port', '26813', '-p', '26823']);
    // Without detection the monitor's reply port 6543 is not a Spread port.
    const replies = (await run([`${LOCAL}ring-lo3-mixed.pcap`, '--json'])).out.split('\n').filter((l) => l.includes('"kind":"status-reply"')).length;
    expect(replies).toBeGreaterThan(0);
    expect(ports.out).toMatch(new RegExp(`^verified ${778 - replies}/${778 - replies} datagrams`, 'm'));
  });

  it('names every datagram that does not re-encode and exits 1', async () => {
    const buf = new Uint8Array(readFileSync(`${SHARED}ring-lo-acc.pcap`));
    // Corrupt the data_len of the first JOIN (frame 0) inside the pcapng: the datagram no longer decodes.
    const at = Buffer.from(buf).indexOf(Buffer.from('800200800100007f0100007f', 'hex'));
    buf[at + 32] = 0x15;
    const r = await run(['x.pcapng', '--verify']);
    expect(r.code).toBe(66);
    let out = '';
    const code = await main(['mem.pcapng', '--verify'], { stdout: (t) => void (out += t), stderr: () => undefined, readFile: () => buf });
    expect(code).toBe(1);
    expect(out).toMatch(/^DIFF frame 0 t=0\.0000 127\.0\.0\.1:58937 -> 127\.0\.0\.2:4803: data datagram does not decode: packet_header\.data_len at offset 32: illegal value: expected 20 \(datagram length 60 - 40\), got 21$/m);
    expect(out).toMatch(/^verified 552\/553 datagrams byte-exact/m);
  });
});

describe('spdump output', () => {
  it('text: one line per datagram with endpoints, type, ring, seq/aru, lengths', async () => {
    const r = await run([`${SHARED}ring-lo-acc.pcap`]);
    expect(r.code).toBe(0);
    const lines = r.out.trimEnd().split('\n');
    expect(lines).toHaveLength(553);
    expect(lines[0]).toBe('   0.0000  127.0.0.1:58937 -> 127.0.0.2:4803  JOIN proc=127.0.0.1 trans=127.0.0.1 hash=407896669 members=[127.0.0.1] pending=0 reps=[127.0.0.1/SEG/0]@0 data_len=20 len=60');
    expect(lines).toContain('   1.2506  127.0.0.1:58937 -> 127.0.0.1:4804  TOKEN seq=0 aru=2147483647 aru_last=255.255.255.255 fc=0 rtr_len=0 memb=(127.0.0.1,1795713691) hash=407896669 arq=0 rtrs=0 len=40');
    expect(lines.some((l) => l.includes('AGREED|ROUTED seq=1 round=3 proc=127.0.0.1') && l.includes('msg=[GROUPS(lo1 set=1[127.0.0.1]'))).toBe(true);
  });

  it('client frames: handshake, header fields and groups', async () => {
    const r = await run([`${SHARED}client-single.pcap`]);
    const lines = r.out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/CONNECT 4\.4\.0 flags=0x01 name="alice"$/);
    expect(lines[1]).toMatch(/AUTHLIST NULL$/);
    expect(lines[2]).toMatch(/AUTH NULL$/);
    expect(lines[3]).toMatch(/ACCEPT 4\.4\.0 #alice#localhost$/);
    expect(lines.some((l) => /MSG SAFE_MESS name=#alice#localhost groups=\[grpA\] mess_type=\d+ data_len=\d+ len=\d+$/.test(l))).toBe(true);
    const rej = await run([`${SHARED}client-reject.pcap`]);
    expect(rej.out).toMatch(/REJECT -6 \(REJECT_NOT_UNIQUE\)$/m);
    expect(rej.out).toMatch(/REJECT -5 \(REJECT_ILLEGAL_NAME\)$/m);
  });

  it('--json: one parseable object per line', async () => {
    for (const name of ['ring-ns-unspec', 'client-two'] as const) {
      const r = await run([`${SHARED}${name}.pcap`, '--json']);
      const objs = r.out.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(objs.length).toBe(name === 'ring-ns-unspec' ? 459 : objs.length);
      for (const o of objs) {
        expect(typeof o.t).toBe('number');
        expect(typeof o.kind).toBe('string');
        expect(o.src).toMatch(/^\d+\.\d+\.\d+\.\d+:\d+$/);
      }
      if (name === 'ring-ns-unspec') {
        const kinds = new Set(objs.map((o) => o.kind));
        expect(kinds).toEqual(new Set(['alive', 'join', 'form1', 'form2', 'token', 'data', 'hurry', 'status-request', 'status-reply']));
        const data = objs.find((o) => o.kind === 'data')! as { value: { fragments: Array<{ data: string }> } };
        expect(typeof data.value.fragments[0]!.data).toBe('string'); // bytes as hex
      }
    }
  });

  it('exit codes: usage 64, missing file 66, not a capture 65, help 0', async () => {
    expect((await run([])).code).toBe(64);
    expect((await run(['a', 'b'])).code).toBe(64);
    expect((await run(['x', '--port', 'abc'])).code).toBe(64);
    expect((await run(['/nonexistent/file.pcap'])).code).toBe(66);
    expect((await run([fileURLToPath(import.meta.url)])).code).toBe(65);
    expect((await run(['--help'])).code).toBe(0);
  });

  const bin = fileURLToPath(new URL('../../bin/spdump.js', import.meta.url));
  const built = existsSync(fileURLToPath(new URL('../../dist/src/tools/spdump.js', import.meta.url)));
  it.runIf(built)('bin/spdump.js (built) runs --verify', () => {
    const out = execFileSync(process.execPath, [bin, `${SHARED}ring-ns-acc.pcap`, '--verify'], { encoding: 'utf8' });
    expect(out).toMatch(/^verified 469\/469 datagrams byte-exact/m);
  });
});
