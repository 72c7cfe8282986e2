import type { Command } from '../command.js';
import { AloftError } from '../../lib/errors/index.js';

// Owned by the helper building 'aloft plan'; replace this whole file.
export const planCommand: Command = {
  name: 'plan',
  summary: '(plan: being built)',
  usage: 'aloft plan',
  async run() {
    throw new AloftError('UNAVAILABLE', 'aloft plan is not built yet');
  },
};
