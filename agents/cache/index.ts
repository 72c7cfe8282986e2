/**
 * Public surface of the agent's input cache: the content-addressed cache itself, its key
 * rules, byte-size parsing for its config, and how objects are placed into scratch.
 */
export {
  createInputCache,
  DEFAULT_CACHE_FRACTION,
  DEFAULT_SUMMARY_ENTRIES,
  summarySignature,
  type Acquired,
  type CacheLease,
  type CacheSource,
  type CacheStats,
  type Fetched,
  type InputCache,
  type InputCacheOptions,
} from './input-cache.js';
export { isCacheKey, keyOfStat, sha256Key, sha256OfKey } from './cache-key.js';
export { formatBytes, parseBytes, parseSizeSpec, type SizeSpec } from './bytes.js';
export { placeFile, LINK_FALLBACK, type Placement } from './place-file.js';
export { LruIndex, type LruEntry } from './lru-index.js';
export { SingleFlight, type FlightHooks, type FlightResult } from './single-flight.js';
