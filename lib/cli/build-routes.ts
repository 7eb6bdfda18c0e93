/**
 * GatewayConfig -> the library's objects: secret providers, captureHeaders(), one mcpProxy() per route.
 * Each option goes to the library as written, so its checks and messages are the library's; an error
 * is re-addressed to where it sits in the file (`routes[1].headers.fromSecret["X-Api-Key"]`).
 * `check`, `explain` and `serve` build the same way.
 */
import { readFileSync } from 'node:fs';
import { captureHeaders } from '../capture.js';
import { HeaderConfigError } from '../config-error.js';
import { closeRoutes } from '../lifecycle.js';
import type { RelayLogger } from '../logger.js';
import type { BackendTlsOptions, CaptureHeadersOptions, McpProxyOptions, RelayMiddleware } from '../options.js';
import { mcpProxy } from '../proxy.js';
import type { McpRoute } from '../route-operations.js';
import type { RouteMetrics } from '../route-observer.js';
import { envSecrets, fileSecrets, type SecretProvider } from '../secrets.js';
import { ConfigFileError, type GatewayConfig, type RouteConfig } from './config-file.js';
import { withoutUndefined } from '../without-undefined.js';

export interface BuiltRoute {
  readonly config: RouteConfig;
  readonly route: McpRoute;
}

export interface BuiltGateway {
  /** captureHeaders() of the file's `capture`, or undefined without one. */
  readonly capture: RelayMiddleware | undefined;
  readonly routes: readonly BuiltRoute[];
}

export interface BuildOptions {
  readonly logger: RelayLogger;
  readonly metrics?: RouteMetrics | undefined;
  /** Where `type: env` providers and `passphraseEnv` read. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
}

/** Throws ConfigFileError; routes built before a failing one are closed again. */
export function buildGateway(config: GatewayConfig, options: BuildOptions): BuiltGateway {
  const env = options.env ?? process.env;
  const providers = within(config.file, 'secrets', () => secretProviders(config, env));
  const capture =
    config.capture && within(config.file, 'capture', () => captureHeaders({ ...config.capture, logger: options.logger } as unknown as CaptureHeadersOptions));
  const routes: BuiltRoute[] = [];
  try {
    for (const route of config.routes) {
      const at = `routes[${route.index}]`;
      const tls = route.tls && readTls(config.file, `${at}.tls`, route.tls, env);
      const proxyOptions = { ...route.options, secrets: providers.get(route.secrets), logger: options.logger, metrics: options.metrics, tls };
      const built = within(config.file, at, () => mcpProxy(withoutUndefined(proxyOptions) as unknown as McpProxyOptions));
      routes.push({ config: route, route: built });
      const twin = routes.find((other) => other !== routes.at(-1) && other.route.name === built.name);
      if (twin) {
        const rule = `gives the route name "${built.name}" (the target's host and path when no name is set), as routes[${twin.config.index}] does: set a distinct name`;
        throw new ConfigFileError(config.file, { path: `${at}.name`, rule });
      }
    }
  } catch (error) {
    void closeRoutes(
      routes.map((r) => r.route),
      { grace: 0 },
    );
    throw error;
  }
  return { capture, routes };
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

/** Reads the PEM files named by a route's `tls` (at load: a missing file fails start-up). Errors name the file path, never its contents. */
function readTls(file: string, at: string, tls: NonNullable<RouteConfig['tls']>, env: NodeJS.ProcessEnv): BackendTlsOptions {
  const read = (key: string, pemFile: string): Buffer => {
    try {
      return readFileSync(pemFile);
    } catch (error) {
      throw new ConfigFileError(file, { path: `${at}.${key}`, rule: `cannot read ${pemFile} (${(error as NodeJS.ErrnoException).code ?? 'error'})` });
    }
  };
  const out: BackendTlsOptions = {};
  if (tls.caFile !== undefined) out.ca = Array.isArray(tls.caFile) ? tls.caFile.map((f, i) => read(`caFile[${i}]`, f)) : read('caFile', tls.caFile);
  if (tls.certFile !== undefined) out.cert = read('certFile', tls.certFile);
  if (tls.keyFile !== undefined) out.key = read('keyFile', tls.keyFile);
  if (tls.passphraseEnv !== undefined) {
    const passphrase = env[tls.passphraseEnv];
    if (passphrase === undefined)
      throw new ConfigFileError(file, { path: `${at}.passphraseEnv`, rule: `names the environment variable ${tls.passphraseEnv}, which is not set` });
    out.passphrase = passphrase;
  }
  if (tls.servername !== undefined) out.servername = tls.servername as string;
  if (tls.rejectUnauthorized !== undefined) out.rejectUnauthorized = tls.rejectUnauthorized as boolean;
  return out;
}

/** Runs a library call; its HeaderConfigError comes back as a ConfigFileError at `at` + its own path. */
function within<T>(file: string, at: string, build: () => T): T {
  try {
    return build();
  } catch (error) {
    if (!(error instanceof HeaderConfigError)) throw error;
    throw new ConfigFileError(file, new HeaderConfigError(error.code, joinPath(at, error.path), error.rule));
  }
}

/** `routes[1]` + `headers.plaintext["X"]`; a library path that is not an option path (`(options)`, `fileSecrets(dir)`) becomes `at`. */
export function joinPath(at: string, inner: string): string {
  if (inner.startsWith('[')) return `${at}${inner}`;
  if (!/^[A-Za-z]/.test(inner) || inner.includes('(')) return at;
  return `${at}.${inner}`;
}
