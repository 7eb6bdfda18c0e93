/**
 * Hot reload of a running gateway (file change or SIGHUP). The new file is read, checked and built in
 * full before anything changes; if any of that fails, the running configuration stays and the error is
 * logged (file, path, rule: never a value). Otherwise new requests go to the new routes at once, routes
 * whose digest did not change are carried over as they are (sessions and streams included), and the
 * others retire: what is under way on them may go on for `reloadGrace`, then they close.
 */
import { createHash } from 'node:crypto';
import type https from 'node:https';
import path from 'node:path';
import { closeRoutes, type CloseSummary } from '../lifecycle.js';
import type { RelayLogger } from '../logger.js';
import type { McpRoute } from '../route-operations.js';
import type { BuiltGateway } from './build-routes.js';
import { ConfigFileError, parseConfig, readConfigText, type GatewayConfig } from './config-file.js';
import type { Generation, Listeners } from './gateway.js';
import { announce } from './output.js';
import { restartOnly, retiredRoutes, routeChanges, type RouteChanges } from './reload.js';

/** `file`: the watcher saw the file change (nothing happens when its text did not); `signal`: SIGHUP, applied whatever the text. */
export type ReloadTrigger = 'file' | 'signal';

export type ReloadOutcome =
  | { readonly status: 'applied'; readonly changes: RouteChanges }
  | { readonly status: 'unchanged' }
  | { readonly status: 'refused'; readonly error: Error }
  | { readonly status: 'stopped' };

export interface ReloaderParts {
  readonly logger: Required<RelayLogger>;
  readonly listeners: Listeners;
  readonly current: () => Generation;
  readonly build: (config: GatewayConfig, reuse: (digest: string) => McpRoute | undefined) => BuiltGateway;
  readonly replace: (config: GatewayConfig, built: BuiltGateway) => void;
}

export class GatewayReloader {
  readonly #parts: ReloaderParts;
  readonly #retiring = new Set<Promise<CloseSummary[]>>();
  #queue: Promise<unknown> = Promise.resolve();
  #textDigest: string | undefined;
  #stopped = false;

  constructor(parts: ReloaderParts) {
    this.#parts = parts;
    const { file } = parts.current().config;
    this.#textDigest = textDigest(file);
  }

  reload(trigger: ReloadTrigger): Promise<ReloadOutcome> {
    const next = this.#queue.then(() => this.#reloadOnce(trigger));
    this.#queue = next;
    return next;
  }

  /** No reload from now on (the gateway is shutting down). */
  stop(): void {
    this.#stopped = true;
  }

  /** Settles once every retired route has closed. */
  retired(): Promise<unknown> {
    return Promise.all(this.#retiring);
  }

  #reloadOnce(trigger: ReloadTrigger): ReloadOutcome {
    if (this.#stopped) return { status: 'stopped' };
    const { logger, current, build, replace } = this.#parts;
    const running = current();
    const file = running.config.file;
    let config: GatewayConfig;
    let built: BuiltGateway;
    try {
      const text = readConfigText(file);
      const digest = createHash('sha256').update(text).digest('base64url');
      if (trigger === 'file' && digest === this.#textDigest) return { status: 'unchanged' };
      this.#textDigest = digest;
      config = parseConfig(text, file, path.dirname(path.resolve(file)));
      const byDigest = new Map(running.built.routes.map((r) => [r.digest, r.route]));
      built = build(config, (d) => byDigest.get(d));
    } catch (error) {
      const fields =
        error instanceof ConfigFileError ? { file: error.file, path: error.path, rule: error.rule, code: error.code } : { error: (error as Error).name };
      logger.error({ ...fields, trigger }, 'mcp-header-relay serve: reload refused; the running configuration stays');
      return { status: 'refused', error: error as Error };
    }
    const pending = restartOnly(running.config, config);
    if (pending.length > 0)
      logger.warn(
        { settings: pending },
        'mcp-header-relay serve: these settings apply at the next restart; the listeners and the session store stay as they are',
      );
    this.#renewTls(running.config, config, built);
    replace(config, built);
    const changes = routeChanges(running.built.routes, built.routes);
    this.#retire(
      retiredRoutes(running.built.routes, built.routes).map((r) => r.route),
      config.reloadGrace,
    );
    announce('reloaded', { trigger, ...changes, capture: sameCapture(running.config, config) ? 'kept' : 'changed' });
    return { status: 'applied', changes };
  }

  /** A renewed certificate on a listener that already speaks TLS applies to new connections at once. */
  #renewTls(before: GatewayConfig, after: GatewayConfig, built: BuiltGateway): void {
    const { main, admin } = this.#parts.listeners;
    if (before.listen.tls && built.tls.listen) (main as https.Server).setSecureContext(built.tls.listen);
    if (before.admin?.tls && after.admin && built.tls.admin && admin) (admin as https.Server).setSecureContext(built.tls.admin);
  }

  #retire(routes: McpRoute[], grace: number): void {
    if (routes.length === 0) return;
    const closing = closeRoutes(routes, { grace });
    this.#retiring.add(closing);
    void closing.finally(() => this.#retiring.delete(closing));
  }
}

function textDigest(file: string): string | undefined {
  try {
    return createHash('sha256').update(readConfigText(file)).digest('base64url');
  } catch {
    return undefined;
  }
}

function sameCapture(before: GatewayConfig, after: GatewayConfig): boolean {
  return JSON.stringify(before.capture) === JSON.stringify(after.capture);
}
