/**
 * What every sans-I/O machine's takeActions hands out when nothing is queued (the ring engine,
 * membership, the node, the client core): one shared empty array, not a new one per call.
 */
export const NO_ACTIONS: readonly never[] = Object.freeze([]);
