/**
 * Store set-up shared by the commands that stage or check data (run, replay, agent,
 * scheduler, plan): the s3:// store built from this process's environment (AWS_*, the
 * shared config files, a Pegasus s3cfg) and registered for `s3:`, once, before anything
 * resolves an s3:// URL. A bad configuration is an AloftError.invalid listing every
 * problem: the command exits 2 with them (cli/app.ts). Commands that never touch a store
 * (status, analyze, submit, ...) do not pay for it.
 */
import { registerS3FromEnvironment } from '../lib/store/index.js';
import type { Logger } from '../lib/logging/index.js';

/**
 * Register the s3:// store from `env` (default process.env). Also silences the AWS SDK's
 * "will require Node >= 22" notice: aloft supports Node 20 (package.json engines), and the
 * notice would otherwise reach users' terminals as a stray warning from every command that
 * opens an S3 client. The SDK reads that switch from process.env, so it is set there — by the
 * binary, not by the store library, which leaves the process environment alone.
 */
export function registerStores(o: { env?: NodeJS.ProcessEnv; logger?: Logger } = {}): void {
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  registerS3FromEnvironment({
    ...(o.env ? { env: o.env } : {}),
    ...(o.logger ? { logger: o.logger } : {}),
  });
}
