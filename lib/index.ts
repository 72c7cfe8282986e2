/** The small shared toolkit that both sides (services/, agents/) may import. */
export * from './errors/index.js';
export * from './logging/index.js';
export * from './retry/index.js';
