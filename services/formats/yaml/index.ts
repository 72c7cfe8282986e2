/**
 * The safe, fast YAML loader and writer. Reading gives exactly what js-yaml FAILSAFE gives
 * (every scalar a string), at JSON-like speed for the YAML that Pegasus tools write, with
 * size, depth and alias-expansion limits on every path.
 */
export { parseYaml, parseYamlFast, type YamlParseStats } from './parse-yaml.js';
export { loadYamlFile, type LoadYamlOptions } from './load-file.js';
export { stringifyYaml } from './stringify-yaml.js';
export { DEFAULT_YAML_LIMITS, type YamlLimits } from './limits.js';
