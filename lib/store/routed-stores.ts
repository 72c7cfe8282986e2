/**
 * Which store serves a URL when some s3:// prefixes have settings of their own (a site
 * catalog's endpoint, region and path style for its stores, never credentials): the
 * registered s3 store with those routes over its own (S3Store.withRoutes). Used by agents
 * for a job's StoreAccess and by the planner when it looks for earlier outputs.
 *
 * Contract:
 *  - No routes: exactly the registry (`storeFor`).
 *  - Otherwise, an s3:// URL gets the registered s3 store extended with the routes: a URL
 *    under a route's prefix uses its settings, the rest (credentials always) comes from the
 *    registered store's configuration. Other URLs are served as without routes.
 *  - One routed store is built per distinct route set (and base store) and shared: its SDK
 *    clients and connections are reused. At most MAX_ROUTED sets are kept; past that the
 *    oldest is forgotten — not closed, a transfer may still be using it.
 *  - A registered s3 store that cannot take routes (a hand-made Store) is used as is.
 */
import { storeFor } from './registry.js';
import type { S3Route } from './s3-config.js';
import type { S3Store } from './s3-store.js';
import type { Store } from './store.js';

/** Which store serves a URL. */
export type StoreResolver = (url: string) => Store;

/** Routed stores kept per base store. */
export const MAX_ROUTED = 64;

const routed = new WeakMap<Store, Map<string, Store>>();

const S3 = /^s3:/i;

function canRoute(s: Store): s is S3Store {
  return s.scheme === 's3' && typeof (s as Partial<S3Store>).withRoutes === 'function';
}

/** The route for the store at `url` with a site's S3 settings (path style under its SDK name). */
export function s3RouteOf(
  url: string,
  settings: { endpoint?: string; region?: string; pathStyle?: boolean },
): S3Route {
  return {
    url,
    ...(settings.endpoint !== undefined ? { endpoint: settings.endpoint } : {}),
    ...(settings.region !== undefined ? { region: settings.region } : {}),
    ...(settings.pathStyle !== undefined ? { forcePathStyle: settings.pathStyle } : {}),
  };
}

/** The resolver for URLs under `routes` (see the module header). */
export function storeForRoutes(routes: readonly S3Route[]): StoreResolver {
  const sorted = [...routes].sort((a, b) => (a.url < b.url ? -1 : a.url > b.url ? 1 : 0));
  if (sorted.length === 0) return storeFor;
  const signature = JSON.stringify(sorted);
  return (url) => {
    const base = storeFor(url);
    if (!S3.test(url) || !canRoute(base)) return base;
    let byRoutes = routed.get(base);
    if (!byRoutes) routed.set(base, (byRoutes = new Map()));
    let store = byRoutes.get(signature);
    if (!store) {
      store = base.withRoutes(sorted);
      if (byRoutes.size >= MAX_ROUTED) byRoutes.delete(byRoutes.keys().next().value!);
      byRoutes.set(signature, store);
    }
    return store;
  };
}
