/** Public surface of the stores: the interface, the file, http(s) and s3 stores, the registry. */
export {
  toUrl,
  schemeOf,
  storeError,
  redactUrl,
  errorCode,
  type Store,
  type StoreOpOptions,
  type GetOptions,
  type PutOptions,
  type CopyResult,
  type StoreStat,
  type StoreEntry,
} from './store.js';
export { createFileStore, filePathOf, type FileStoreOptions } from './file-store.js';
export { createHttpStore, type HttpStoreOptions } from './http-store.js';
export { registerStore, storeFor } from './registry.js';
export {
  createS3Store,
  registerS3FromEnvironment,
  pegasusS3ConfigPath,
  SHA256_METADATA,
  type S3Store,
  type S3EnvironmentOptions,
} from './s3-store.js';
export {
  parseS3Url,
  parsePegasusS3Config,
  s3UrlOf,
  type S3StoreOptions,
  type S3EndpointConfig,
  type S3Credentials,
  type S3Location,
  type S3Route,
} from './s3-config.js';
export { writeFileAtomically, isTempName, type AtomicWriteOptions } from './atomic-file.js';
export { storeForRoutes, s3RouteOf, MAX_ROUTED, type StoreResolver } from './routed-stores.js';
