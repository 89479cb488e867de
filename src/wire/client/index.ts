export * from './constants.js';
export * from './message.js';
export * from './handshake.js';
export * from './membership.js';
export * from './names.js';
export * from './framer.js';
export * from './notices.js';
