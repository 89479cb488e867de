/**
 * Internals for tests and tools (package export `spread-ts/unstable-internal`): the pure codecs, the
 * configuration module and the daemon's layers (its barrel: the node, ring, membership, core and
 * socket edges). Not a stable API.
 */
export * as wire from './wire/index.js';
export * as config from './daemon/config/index.js';
export * as daemon from './daemon/index.js';
export * as pcap from './wire/pcap/index.js';
