/**
 * Which store serves a URL. file://, http:// and https:// are registered by default;
 * other schemes (s3://, issue 4) are added with `registerStore` by whoever wires them.
 */
import { AloftError } from '../errors/index.js';
import { createFileStore } from './file-store.js';
import { createHttpStore } from './http-store.js';
import { redactUrl, schemeOf, toUrl, type Store } from './store.js';

const stores = new Map<string, Store>([
  ['file', createFileStore()],
  ['http', createHttpStore({ scheme: 'http' })],
  ['https', createHttpStore({ scheme: 'https' })],
]);

/** Serve `schemes` (default: the store's own) with `store`, replacing any earlier one. */
export function registerStore(store: Store, schemes: readonly string[] = [store.scheme]): void {
  for (const s of schemes) stores.set(s.toLowerCase(), store);
}

/** The store for a URL or absolute path; INVALID_ARGUMENT for a scheme nobody serves. */
export function storeFor(urlOrPath: string): Store {
  const url = toUrl(urlOrPath);
  const scheme = schemeOf(url);
  const store = stores.get(scheme);
  if (!store) {
    throw AloftError.invalid({
      where: `location '${redactUrl(url)}'`,
      message: `no store handles the '${scheme}:' scheme`,
      hint: `use one of: ${[...stores.keys()].map((s) => `${s}://`).join(', ')}`,
    });
  }
  return store;
}
