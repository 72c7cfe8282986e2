/**
 * Safety limits for reading YAML (DESIGN §8: "YAML parsed with alias and size limits").
 * Every limit is configurable; the defaults admit any real workflow (1M jobs is ~300 MB)
 * while rejecting hostile input (alias bombs, absurd nesting, gigabyte files) quickly.
 */

import { AloftError } from '../../../lib/errors/index.js';

export interface YamlLimits {
  /** Largest input accepted, in bytes (UTF-8; after gunzip for `.gz` files). */
  maxBytes: number;
  /** Deepest nesting of mappings/sequences accepted (the root collection is level 1). */
  maxDepth: number;
  /**
   * Alias budget: a document whose aliases expand it to more than
   * `max(2 × unique, unique + maxAliasExpansion)` nodes is rejected as a possible alias
   * bomb (`unique` counts each distinct node once, `expanded` counts it at every use).
   */
  maxAliasExpansion: number;
}

export const DEFAULT_YAML_LIMITS: Readonly<YamlLimits> = Object.freeze({
  maxBytes: 1024 * 1024 * 1024,
  maxDepth: 512,
  maxAliasExpansion: 1_000_000,
});

/** Defaults overlaid with the caller's values; a non-finite or negative value is rejected. */
export function resolveLimits(limits: Partial<YamlLimits> | undefined): YamlLimits {
  const out: YamlLimits = { ...DEFAULT_YAML_LIMITS };
  if (limits === undefined) return out;
  for (const key of ['maxBytes', 'maxDepth', 'maxAliasExpansion'] as const) {
    const v = limits[key];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !(v >= 0) || !Number.isFinite(v)) {
      throw AloftError.invalid({
        where: `YamlLimits.${key}`,
        message: `must be a non-negative finite number, got ${String(v)}`,
      });
    }
    out[key] = v;
  }
  return out;
}
