/**
 * What a reload changes, by route name: added, removed, changed (built again, so a new backend, new
 * headers, a new session table) and kept (the running route, its sessions and streams untouched). And
 * what a reload cannot change without a restart: where the listeners bind, whether they speak TLS, and
 * the session store (its connection is made at start).
 */
import type { BuiltRoute } from './build-routes.js';
import type { GatewayConfig, Listener } from './config-file.js';
import { digestOf } from './route-digest.js';

export interface RouteChanges {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly changed: readonly string[];
  readonly kept: readonly string[];
}

export function routeChanges(before: readonly BuiltRoute[], after: readonly BuiltRoute[]): RouteChanges {
  const running = new Map(before.map((r) => [r.route.name, r.route]));
  const names = new Set(after.map((r) => r.route.name));
  const changes = { added: [] as string[], changed: [] as string[], kept: [] as string[] };
  for (const { route } of after) {
    const old = running.get(route.name);
    if (old === undefined) changes.added.push(route.name);
    else if (old === route) changes.kept.push(route.name);
    else changes.changed.push(route.name);
  }
  return { ...changes, removed: before.filter((r) => !names.has(r.route.name)).map((r) => r.route.name) };
}

/** The routes of `before` that `after` does not run any more: they finish what is under way, then close. */
export function retiredRoutes(before: readonly BuiltRoute[], after: readonly BuiltRoute[]): BuiltRoute[] {
  const kept = new Set(after.map((r) => r.route));
  return before.filter((r) => !kept.has(r.route));
}

/** Settings the new file changes that only a restart applies: each as `listen.port`, `sessionStore` etc. */
export function restartOnly(before: GatewayConfig, after: GatewayConfig): string[] {
  const out = bindingChanges('listen', before.listen, after.listen);
  if ((before.admin === undefined) !== (after.admin === undefined)) out.push('admin');
  else if (before.admin && after.admin) out.push(...bindingChanges('admin', before.admin, after.admin));
  if (digestOf(before.sessionStore) !== digestOf(after.sessionStore)) out.push('sessionStore');
  return out;
}

function bindingChanges(at: 'listen' | 'admin', before: Listener, after: Listener): string[] {
  const out: string[] = [];
  if (before.host !== after.host) out.push(`${at}.host`);
  if (before.port !== after.port) out.push(`${at}.port`);
  if ((before.tls === undefined) !== (after.tls === undefined)) out.push(`${at}.tls`);
  return out;
}
