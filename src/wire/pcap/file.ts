/**
 * Capture-file containers: classic pcap and pcapng (no I/O; the caller reads the file).
 *
 *   pcap     = global_header record*
 *   global   = magic:u32 major:u16 minor:u16 thiszone:i32 sigfigs:u32 snaplen:u32 linktype:u32  (24)
 *              magic a1b2c3d4 = µs timestamps, a1b23c4d = ns; read in either byte order
 *   record   = ts_sec:u32 ts_frac:u32 incl_len:u32 orig_len:u32 data[incl_len]
 *
 *   pcapng   = block*        block = type:u32 total_len:u32 body total_len:u32 (32-bit aligned)
 *   SHB 0x0a0d0d0a  byte_order_magic:u32(1a2b3c4d) major:u16 minor:u16 section_len:i64 options
 *   IDB 0x00000001  linktype:u16 reserved:u16 snaplen:u32 options (if_tsresol = code 9)
 *   EPB 0x00000006  interface:u32 ts_high:u32 ts_low:u32 cap_len:u32 orig_len:u32 data pad options
 *   SPB 0x00000003  orig_len:u32 data (cap_len = min(orig_len, snaplen, block room))
 *   every other block is skipped. Each SHB starts a new section with its own byte order and
 *   interface list.
 */
import { ProtocolError } from '../errors.js';

export interface CapturedFrame {
  /** 0-based position in the file. */
  index: number;
  /** Seconds since the epoch (float). */
  time: number;
  /** LINKTYPE_* of the frame's interface. */
  linkType: number;
  /** Captured bytes (view of the file buffer). */
  data: Uint8Array;
  /** Length on the wire (>= data.length when the capture was truncated). */
  origLen: number;
}

export interface CaptureFile {
  format: 'pcap' | 'pcapng';
  frames: CapturedFrame[];
}

export const LinkType = {
  NULL: 0,
  ETHERNET: 1,
  RAW: 101,
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  LINUX_SLL2: 276,
} as const;

function u32(buf: Uint8Array, o: number, le: boolean): number {
  return le
    ? (buf[o]! | (buf[o + 1]! << 8) | (buf[o + 2]! << 16) | (buf[o + 3]! << 24)) >>> 0
    : ((buf[o]! << 24) | (buf[o + 1]! << 16) | (buf[o + 2]! << 8) | buf[o + 3]!) >>> 0;
}

function u16(buf: Uint8Array, o: number, le: boolean): number {
  return le ? buf[o]! | (buf[o + 1]! << 8) : (buf[o]! << 8) | buf[o + 1]!;
}

function need(buf: Uint8Array, o: number, n: number, structure: string, field: string): void {
  if (o + n > buf.length) throw new ProtocolError('TRUNCATED', structure, field, o, n, Math.max(0, buf.length - o));
}

const PCAP_US = 0xa1b2c3d4;
const PCAP_NS = 0xa1b23c4d;
const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BOM = 0x1a2b3c4d;

/** Parses a whole capture file. A record cut short at the end of the file is ignored. */
export function readCaptureFile(buf: Uint8Array): CaptureFile {
  need(buf, 0, 4, 'capture_file', 'magic');
  const be = u32(buf, 0, false);
  if (be === PCAPNG_SHB) return { format: 'pcapng', frames: readPcapng(buf) };
  const le = u32(buf, 0, true);
  if (le === PCAP_US || le === PCAP_NS) return { format: 'pcap', frames: readPcap(buf, true, le === PCAP_NS) };
  if (be === PCAP_US || be === PCAP_NS) return { format: 'pcap', frames: readPcap(buf, false, be === PCAP_NS) };
  throw new ProtocolError('BAD_VALUE', 'capture_file', 'magic', 0, 'pcap or pcapng magic', `0x${be.toString(16).padStart(8, '0')}`);
}

function readPcap(buf: Uint8Array, le: boolean, nanos: boolean): CapturedFrame[] {
  need(buf, 0, 24, 'pcap_header', 'linktype');
  const linkType = u32(buf, 20, le) & 0x0fffffff; // upper bits: FCS length flags
  const div = nanos ? 1e9 : 1e6;
  const frames: CapturedFrame[] = [];
  let o = 24;
  while (o + 16 <= buf.length) {
    const sec = u32(buf, o, le);
    const frac = u32(buf, o + 4, le);
    const incl = u32(buf, o + 8, le);
    const orig = u32(buf, o + 12, le);
    o += 16;
    if (incl > 0x4000000) throw new ProtocolError('TOO_LARGE', 'pcap_record', 'incl_len', o - 8, '<= 67108864', incl);
    if (o + incl > buf.length) break;
    frames.push({ index: frames.length, time: sec + frac / div, linkType, data: buf.subarray(o, o + incl), origLen: orig });
    o += incl;
  }
  return frames;
}

interface Interface {
  linkType: number;
  snapLen: number;
  /** Timestamp units per second. */
  unitsPerSec: number;
}

function readPcapng(buf: Uint8Array): CapturedFrame[] {
  const frames: CapturedFrame[] = [];
  let le = true;
  let ifaces: Interface[] = [];
  let o = 0;
  while (o + 12 <= buf.length) {
    const typeBE = u32(buf, o, false);
    if (typeBE === PCAPNG_SHB) {
      need(buf, o, 12, 'pcapng_shb', 'byte_order_magic');
      const bom = u32(buf, o + 8, true);
      if (bom === PCAPNG_BOM) le = true;
      else if (u32(buf, o + 8, false) === PCAPNG_BOM) le = false;
      else throw new ProtocolError('BAD_VALUE', 'pcapng_shb', 'byte_order_magic', o + 8, '0x1a2b3c4d', `0x${bom.toString(16)}`);
      ifaces = [];
    }
    const type = u32(buf, o, le);
    const len = u32(buf, o + 4, le);
    if (len < 12 || len % 4 !== 0) throw new ProtocolError('BAD_VALUE', 'pcapng_block', 'total_length', o + 4, 'multiple of 4, >= 12', len);
    if (o + len > buf.length) break; // cut short at the end of the file
    const body = o + 8;
    const bodyEnd = o + len - 4;
    switch (type) {
      case 1: {
        need(buf, body, 8, 'pcapng_idb', 'linktype');
        ifaces.push({
          linkType: u16(buf, body, le),
          snapLen: u32(buf, body + 4, le),
          unitsPerSec: tsResolution(buf, body + 8, bodyEnd, le),
        });
        break;
      }
      case 6: {
        need(buf, body, 20, 'pcapng_epb', 'cap_len');
        const ifc = iface(ifaces, u32(buf, body, le), body);
        const ts = u32(buf, body + 4, le) * 4294967296 + u32(buf, body + 8, le);
        const cap = u32(buf, body + 12, le);
        const orig = u32(buf, body + 16, le);
        if (body + 20 + cap > bodyEnd) throw new ProtocolError('TRUNCATED', 'pcapng_epb', 'data', body + 20, cap, bodyEnd - body - 20);
        frames.push({ index: frames.length, time: ts / ifc.unitsPerSec, linkType: ifc.linkType, data: buf.subarray(body + 20, body + 20 + cap), origLen: orig });
        break;
      }
      case 3: {
        need(buf, body, 4, 'pcapng_spb', 'orig_len');
        const ifc = iface(ifaces, 0, body);
        const orig = u32(buf, body, le);
        let cap = Math.min(orig, bodyEnd - body - 4);
        if (ifc.snapLen > 0) cap = Math.min(cap, ifc.snapLen);
        frames.push({ index: frames.length, time: 0, linkType: ifc.linkType, data: buf.subarray(body + 4, body + 4 + cap), origLen: orig });
        break;
      }
      default:
        break;
    }
    o += len;
  }
  return frames;
}

function iface(ifaces: readonly Interface[], id: number, at: number): Interface {
  const ifc = ifaces[id];
  if (ifc === undefined) throw new ProtocolError('BAD_VALUE', 'pcapng_block', 'interface_id', at, `< ${ifaces.length}`, id);
  return ifc;
}

/** if_tsresol (option 9): bit 7 clear ⇒ 10^-n s, set ⇒ 2^-n s; default microseconds. */
function tsResolution(buf: Uint8Array, o: number, end: number, le: boolean): number {
  while (o + 4 <= end) {
    const code = u16(buf, o, le);
    const len = u16(buf, o + 2, le);
    if (code === 0) break;
    if (code === 9 && len >= 1 && o + 5 <= end) {
      const v = buf[o + 4]!;
      return v & 0x80 ? 2 ** (v & 0x7f) : 10 ** v;
    }
    o += 4 + ((len + 3) & ~3);
  }
  return 1e6;
}
