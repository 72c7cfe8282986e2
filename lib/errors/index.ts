export {
  AloftError,
  isAloftError,
  toAloftError,
  formatProblems,
  type ErrorCode,
  type Problem,
  type AloftErrorOptions,
} from './aloft-error.js';
