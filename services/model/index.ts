/** The workflow model (plain data) and the name rules every component shares. */
export type * from './types.js';
export * from './names.js';
export { parseByteSize, formatBytes } from './byte-size.js';
