/**
 * Run statistics (pegasus-statistics equivalents): a pure projection of the journal and the
 * plan (StatsFold → StatsView), rendered as text tables, CSV or JSON by the CLI.
 */
export {
  StatsFold,
  type StatsView,
  type KindRow,
  type TransformationRow,
  type PlaceRow,
} from './stats-fold.js';
export { renderStats, renderTransformationsCsv, csvField, fmtBytes } from './render.js';
