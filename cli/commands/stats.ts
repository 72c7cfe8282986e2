import type { Command } from '../command.js';
import { AloftError } from '../../lib/errors/index.js';

// Owned by the helper building 'aloft stats'; replace this whole file.
export const statsCommand: Command = {
  name: 'stats',
  summary: '(stats: being built)',
  usage: 'aloft stats',
  async run() {
    throw new AloftError('UNAVAILABLE', 'aloft stats is not built yet');
  },
};
