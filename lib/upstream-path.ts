/**
 * Where a request goes on the backend: the target's path and fixed query, then what the client's
 * URL adds below the mount point.
 */
import type { ProxyConfig } from './config.js';

/**
 * The exact upstream path: the target path for the mount root (no trailing slash added), the target
 * path joined with the rest otherwise; the target's query, then the request's without the parameters
 * the target fixes (a backend that takes the last `toolsets=` would otherwise take the client's).
 * `dropped` hears each client parameter name removed.
 */
export function upstreamPath(url: string, config: Pick<ProxyConfig, 'targetPath' | 'targetSearch' | 'fixedQuery'>, dropped?: (name: string) => void): string {
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  let search = q === -1 ? '' : url.slice(q + 1);
  if (search && config.fixedQuery.size > 0) search = withoutFixed(search, config.fixedQuery, dropped);
  const base = config.targetPath;
  const joined = path === '/' || path === '' ? base : `${base.endsWith('/') ? base.slice(0, -1) : base}${path}`;
  const query = [config.targetSearch.slice(1), search].filter(Boolean).join('&');
  return query ? `${joined}?${query}` : joined;
}

/** The client's query parts, minus those whose name (decoded as a backend decodes it) the target fixes. */
function withoutFixed(search: string, fixed: ReadonlySet<string>, dropped?: (name: string) => void): string {
  return search
    .split('&')
    .filter((part) => {
      const name = new URLSearchParams(part.split('=', 1)[0]).keys().next().value ?? '';
      if (!fixed.has(name)) return true;
      dropped?.(name);
      return false;
    })
    .join('&');
}
