/**
 * @deprecated Moved to `src/wire/bytes.ts`, the one byte-order module. This re-export only keeps
 * branches written against the old path building until they are merged; import from
 * `../bytes.js` (`../../wire/bytes.js`) instead. Delete once nothing imports it.
 */
export { bytesOf, checkRange, put16, put32, putRaw, Reader, readerFor } from '../bytes.js';
