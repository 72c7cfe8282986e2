/** The run journal: events, the durable writer with group commit, and readers. */
export * from './events.js';
export {
  openJournal,
  journalPath,
  syncDir,
  JOURNAL_FILE,
  type Journal,
  type JournalStats,
  type OpenJournalOptions,
} from './journal.js';
export { readJournal, readJournalSync, parseJournalBuffer, type ParsedJournal } from './reader.js';
