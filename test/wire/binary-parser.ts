/**
 * binary-parser, typed. Its package.json `exports` carry no `types` condition, so under
 * NodeNext TypeScript cannot type `import 'binary-parser'`; load the CommonJS build and give it
 * the package's own declarations.
 */
import { createRequire } from 'node:module';

type BinaryParser = typeof import('../../node_modules/binary-parser/dist/binary_parser.js');

export const { Parser } = createRequire(import.meta.url)('binary-parser') as BinaryParser;
