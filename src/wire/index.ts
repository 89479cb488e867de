export * from './errors.js';
export * from './bytes.js';
export * as client from './client/index.js';
export * as daemon from './daemon/index.js';
