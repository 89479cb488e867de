/**
 * The operational token ring (SPEC.md Part V): a sans-I/O engine that orders, stabilises
 * and delivers messages on a given ring of daemons.
 */
export { RingEngine, type RingInstall, type RingMode, type RingResume, type RingSettings, type RingStats } from './engine.js';
export { RingTopology, type RingSegmentSpec } from './topology.js';
export { RingConfigError, RingSubmitError, type RingConfigErrorCode, type RingSubmitErrorCode } from './errors.js';
export * from './actions.js';
export * from './constants.js';
