export { retry, backoffDelay, type RetryOptions, type BackoffOptions } from './backoff.js';
