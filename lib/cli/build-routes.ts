/**
 * GatewayConfig -> the library's objects: secret providers, captureHeaders(), one mcpProxy() per route.
 * Each option goes to the library as written, so its checks and messages are the library's; an error
 * is re-addressed to where it sits in the file (`routes[1].headers.fromSecret["X-Api-Key"]`).
 * `check`, `explain` and `serve` build the same way.
 */
import { captureHeaders } from '../capture.js';
import { closeRoutes } from '../lifecycle.js';
import type { RelayLogger } from '../logger.js';
import type { CaptureHeadersOptions, McpProxyOptions, RelayMiddleware } from '../options.js';
import { mcpProxy } from '../proxy.js';
import type { McpRoute } from '../route-operations.js';
import type { RouteMetrics } from '../route-observer.js';
import { envSecrets, fileSecrets, type SecretProvider } from '../secrets.js';
import { ConfigFileError, within, type GatewayConfig, type Listener, type RouteConfig } from './config-file.js';
import { digestOf } from './route-digest.js';
import { storeSettings, withSharedSessions, type SharedSessions } from './shared-sessions.js';
import { readBackendTls, readListenerTls, type ListenerTls } from './tls-files.js';
import { withoutUndefined } from '../without-undefined.js';

export interface BuiltRoute {
  readonly config: RouteConfig;
  readonly route: McpRoute;
  /** Of everything the route was built from (route-digest.ts): equal digests, equal routes. */
  readonly digest: string;
  /** Taken from the running gateway (BuildOptions.reuse), not built now. */
  readonly reused: boolean;
}

export interface BuiltGateway {
  /** captureHeaders() of the file's `capture`, or undefined without one. */
  readonly capture: RelayMiddleware | undefined;
  readonly routes: readonly BuiltRoute[];
  /** The listeners' HTTPS identities, read from their files (undefined: plain HTTP). */
  readonly tls: { readonly listen: ListenerTls | undefined; readonly admin: ListenerTls | undefined };
}

export interface BuildOptions {
  readonly logger: RelayLogger;
  readonly metrics?: RouteMetrics | undefined;
  /** Where `type: env` providers and `passphraseEnv` read. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** A running route built from the same digest, to keep (with its sessions) instead of building it again. */
  readonly reuse?: (digest: string) => McpRoute | undefined;
  /**
   * The shared session store `serve` connected at start (null: none), which every build of the running
   * gateway uses. Undefined (check, explain): the file's sessionStore on a store that never connects.
   */
  readonly sessions?: SharedSessions | null;
}

/** Throws ConfigFileError; routes built before a failing one are closed again (reused ones stay as they were). */
export function buildGateway(config: GatewayConfig, options: BuildOptions): BuiltGateway {
  const env = options.env ?? process.env;
  const tls = { listen: listenerTls(config, 'listen', config.listen, env), admin: config.admin && listenerTls(config, 'admin', config.admin, env) };
  const providers = within(config.file, 'secrets', () => secretProviders(config, env));
  // serve read the file's sessionStore once, at start; check and explain read it here, for a store that never connects.
  const settings = options.sessions === undefined ? storeSettings(config, env) : undefined;
  const sessions = options.sessions ?? (settings && { store: settings.offline, sessionKey: settings.sessionKey });
  const capture =
    config.capture && within(config.file, 'capture', () => captureHeaders({ ...config.capture, logger: options.logger } as unknown as CaptureHeadersOptions));
  const routes: BuiltRoute[] = [];
  try {
    for (const route of config.routes) {
      const at = `routes[${route.index}]`;
      const backendTls = route.tls && readBackendTls(config.file, `${at}.tls`, route.tls, env);
      const digest = digestOf({ path: route.path, options: route.options, provider: config.secrets[route.secrets], tls: backendTls });
      const running = options.reuse?.(digest);
      const own = sessions ? withSharedSessions(route.options, sessions, config.file, at) : route.options;
      const proxyOptions = { ...own, secrets: providers.get(route.secrets), logger: options.logger, metrics: options.metrics, tls: backendTls };
      const built = running ?? within(config.file, at, () => mcpProxy(withoutUndefined(proxyOptions) as unknown as McpProxyOptions));
      routes.push({ config: route, route: built, digest, reused: running !== undefined });
      const twin = routes.find((other) => other !== routes.at(-1) && other.route.name === built.name);
      if (twin) {
        const rule = `gives the route name "${built.name}" (the target's host and path when no name is set), as routes[${twin.config.index}] does: set a distinct name`;
        throw new ConfigFileError(config.file, { path: `${at}.name`, rule });
      }
    }
  } catch (error) {
    void closeRoutes(
      routes.filter((r) => !r.reused).map((r) => r.route),
      { grace: 0 },
    );
    throw error;
  }
  return { capture, routes, tls };
}

function listenerTls(config: GatewayConfig, at: 'listen' | 'admin', listener: Listener, env: NodeJS.ProcessEnv): ListenerTls | undefined {
  return listener.tls && readListenerTls(config.file, `${at}.tls`, listener.tls, env);
}

function secretProviders(config: GatewayConfig, env: NodeJS.ProcessEnv): Map<string, SecretProvider> {
  const providers = new Map<string, SecretProvider>();
  for (const [name, spec] of Object.entries(config.secrets)) {
    const provider = within(config.file, `secrets.${name}`, () =>
      spec.type === 'env' ? envSecrets(env) : fileSecrets(spec.dir, spec.refreshInterval === undefined ? {} : { refreshInterval: spec.refreshInterval }),
    );
    providers.set(name, provider);
  }
  return providers;
}
