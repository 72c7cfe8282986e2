import type { Command } from '../command.js';
import { AloftError } from '../../lib/errors/index.js';

// Owned by the helper building 'aloft run'; replace this whole file.
export const runCommand: Command = {
  name: 'run',
  summary: '(run: being built)',
  usage: 'aloft run',
  async run() {
    throw new AloftError('UNAVAILABLE', 'aloft run is not built yet');
  },
};
