/** Public surface of the stores: the interface, the file and http(s) stores, the registry. */
export {
  toUrl,
  schemeOf,
  storeError,
  redactUrl,
  errorCode,
  type Store,
  type StoreOpOptions,
  type GetOptions,
  type CopyResult,
  type StoreStat,
  type StoreEntry,
} from './store.js';
export { createFileStore, filePathOf, type FileStoreOptions } from './file-store.js';
export { createHttpStore, type HttpStoreOptions } from './http-store.js';
export { registerStore, storeFor } from './registry.js';
export { writeFileAtomically, isTempName, type AtomicWriteOptions } from './atomic-file.js';
