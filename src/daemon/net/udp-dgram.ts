/**
 * The UDP edge's node:dgram backend (SPEC.md Part VIII §9): the portable one, used when the
 * native addon is not built, for multicast segments, and when SPREAD_TS_UDP=dgram.
 */
import { createSocket } from 'node:dgram';
import type { RemoteInfo, Socket } from 'node:dgram';
import { lookup } from 'node:dns';
import { isIPv4 } from 'node:net';
import type { UdpBindSpec } from './udp-plan.js';
import { bindFailed, errMessage, errnoCode, SENDER_SPEC, setupFailed, sizeBuffer, UdpEdgeError } from './udp-socket.js';
import type { UdpBackend, UdpReceive, UdpReceiveSocket, UdpSendError, UdpSendSocket } from './udp-socket.js';

function bindSocket(sock: Socket, address: string, port: number): Promise<void> {
  return new Promise((res, rej) => {
    const onError = (err: Error): void => rej(err);
    sock.once('error', onError);
    sock.bind({ address, port, exclusive: true }, () => {
      sock.off('error', onError);
      res();
    });
  });
}

function closeSocket(sock: Socket): Promise<void> {
  return new Promise((res) => {
    try {
      sock.close(() => res());
    } catch {
      res(); // already closed
    }
  });
}

/** dgram's lookup for IPv4 literals, answered synchronously; anything else goes to dns.lookup. */
function literalLookup(address: string, _family: unknown, callback: (err: Error | null, address: string, family: number) => void): void {
  if (isIPv4(address)) callback(null, address, 4);
  else lookup(address, 4, callback as (err: Error | null, address: string, family: number) => void);
}

async function openReceiver(spec: UdpBindSpec, bufferBytes: number, onDatagram: UdpReceive, onError: (err: Error) => void): Promise<UdpReceiveSocket> {
  const sock = createSocket({ type: 'udp4', reuseAddr: false });
  try {
    await bindSocket(sock, spec.address, spec.port);
  } catch (err) {
    await closeSocket(sock);
    throw bindFailed(spec, err);
  }
  sock.on('message', (msg: Buffer, rinfo: RemoteInfo) => onDatagram(msg, rinfo));
  sock.on('error', onError);
  let recvBufferSize = 0;
  try {
    // As DL_init_channel: a multicast segment's sockets join the group, the others get SO_BROADCAST.
    if (spec.multicast === null) sock.setBroadcast(true);
    else sock.addMembership(spec.multicast.group, spec.multicast.iface);
    recvBufferSize = sizeBuffer((n) => sock.setRecvBufferSize(n), () => sock.getRecvBufferSize(), bufferBytes);
  } catch (err) {
    await closeSocket(sock);
    throw setupFailed(spec, err);
  }
  return { boundPort: sock.address().port, recvBufferSize, close: () => closeSocket(sock) };
}

async function openSender(bufferBytes: number, onSendError: UdpSendError, onError: (err: Error) => void): Promise<UdpSendSocket> {
  // Every target is an IPv4 literal: resolving it in place lets a send leave inside the call
  // (Node's default lookup defers each send to the next tick).
  const sock = createSocket({ type: 'udp4', reuseAddr: false, lookup: literalLookup });
  try {
    // "Unbound" in the reference: the kernel picks the port at the first send. Node needs a
    // bound socket to set options, so bind the wildcard address and an ephemeral port.
    await bindSocket(sock, SENDER_SPEC.address, 0);
  } catch (err) {
    await closeSocket(sock);
    throw new UdpEdgeError('UDP_BIND_FAILED', `cannot bind the send socket: ${errMessage(err)}`, SENDER_SPEC.address, 0, { cause: err });
  }
  sock.on('error', onError);
  // Datagrams that arrive on the send socket (nobody should send there) are not read up.
  sock.on('message', () => {});
  let bufferSize = 0;
  try {
    sock.setBroadcast(true);
    sock.setMulticastTTL(1);
    bufferSize = sizeBuffer((n) => sock.setSendBufferSize(n), () => sock.getSendBufferSize(), bufferBytes);
  } catch (err) {
    await closeSocket(sock);
    throw new UdpEdgeError('UDP_SOCKET_SETUP_FAILED', `cannot set up the send socket: ${errMessage(err)}`, SENDER_SPEC.address, 0, { cause: err });
  }
  // One completion callback for every send (no per-datagram closure).
  const onSent = (err: Error | null): void => {
    if (err !== null && err !== undefined) onSendError(errnoCode(err), errMessage(err));
  };
  let open = true;
  return {
    bufferSize,
    port: () => {
      try {
        return open ? sock.address().port : 0;
      } catch {
        return 0;
      }
    },
    // Sends leave synchronously (libuv tries the send at once); the queue holds only what the
    // kernel refused for now.
    queuedBytes: () => sock.getSendQueueSize(),
    queuedCount: () => sock.getSendQueueCount(),
    send: (bytes, _ip, address, port) => sock.send(bytes, port, address, onSent),
    close: () => {
      open = false;
      return closeSocket(sock);
    },
  };
}

export const dgramBackend: UdpBackend = { name: 'dgram', openReceiver, openSender };
