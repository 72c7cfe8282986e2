import type { Command } from '../command.js';
import { AloftError } from '../../lib/errors/index.js';

// Owned by the helper building 'aloft status'; replace this whole file.
export const statusCommand: Command = {
  name: 'status',
  summary: '(status: being built)',
  usage: 'aloft status',
  async run() {
    throw new AloftError('UNAVAILABLE', 'aloft status is not built yet');
  },
};
