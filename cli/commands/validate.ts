import type { Command } from '../command.js';
import { AloftError } from '../../lib/errors/index.js';

// Owned by the helper building 'aloft validate'; replace this whole file.
export const validateCommand: Command = {
  name: 'validate',
  summary: '(validate: being built)',
  usage: 'aloft validate',
  async run() {
    throw new AloftError('UNAVAILABLE', 'aloft validate is not built yet');
  },
};
