/**
 * Capture-file reading for tools and tests: pcap/pcapng → IPv4 UDP datagrams and reassembled
 * TCP streams. Pure: the caller supplies the file's bytes.
 */
import { readCaptureFile, type CaptureFile } from './file.js';
import { extractTransport, type TcpSegment, type UdpDatagram } from './ip.js';
import { reassembleTcp, type TcpConnection } from './tcp.js';

export * from './file.js';
export * from './ip.js';
export * from './tcp.js';

export interface Capture extends CaptureFile {
  udp: UdpDatagram[];
  tcp: TcpSegment[];
  connections: TcpConnection[];
  skipped: Record<string, number>;
}

export function readCapture(buf: Uint8Array): Capture {
  const file = readCaptureFile(buf);
  const { udp, tcp, skipped } = extractTransport(file.frames);
  return { ...file, udp, tcp, connections: reassembleTcp(tcp), skipped };
}
