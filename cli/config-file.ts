/**
 * The `--config FILE` of the daemons (`aloft agent`, `aloft scheduler`): read as YAML with
 * the safe loader and handed to lib/config, which stays free of any parser (lib/ imports
 * neither side). Relative paths inside the file resolve against its directory.
 */
import path from 'node:path';
import type { ConfigFile } from '../lib/config/index.js';
import { loadYamlFile } from '../services/formats/index.js';
import type { CommandContext } from './command.js';

export async function readConfigFile(
  configPath: string | undefined,
  ctx: Pick<CommandContext, 'cwd' | 'signal'>,
): Promise<ConfigFile | undefined> {
  if (configPath === undefined) return undefined;
  const abs = path.resolve(ctx.cwd, configPath);
  return {
    name: configPath,
    dir: path.dirname(abs),
    data: await loadYamlFile(abs, { signal: ctx.signal }),
  };
}
