/**
 * `serve`: the gateway as an Express app built from a GatewayConfig. captureHeaders, one mcpProxy per
 * route at its mount path, and the operational endpoints (/healthz, /readyz, /metrics) on the admin
 * listener when the file has one, else on the main listener ahead of the routes. Express is an optional
 * peer dependency of the library; the command loads it when it serves, and says so if it is missing.
 *
 * The routes live in a generation (a Router and the routes it mounts) that a reload replaces as a whole:
 * a request is dispatched to the generation current when it arrives and stays there, so requests and
 * event streams under way finish on the routes they started on.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type express from 'express';
import { healthHandler } from '../health-handler.js';
import { closeRoutes, type CloseSummary } from '../lifecycle.js';
import type { RelayLogger } from '../logger.js';
import type { RelayMiddleware } from '../options.js';
import type { RouteMetrics } from '../route-observer.js';
import { buildGateway, type BuiltGateway } from './build-routes.js';
import type { GatewayConfig, Listener } from './config-file.js';
import { GatewayReloader, type ReloadOutcome, type ReloadTrigger } from './gateway-reload.js';
import { loadOptional } from './optional-peer.js';
import { connectSharedSessions, storeSettings, type ConnectedSessions } from './shared-sessions.js';
import type { ListenerTls } from './tls-files.js';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;
type Express = typeof express;

export interface RunningGateway {
  /** `http(s)://host:port` of the main listener, and of the admin listener (undefined without one). */
  readonly url: string;
  readonly admin: string | undefined;
  /** The `shutdownGrace` of the configuration in force (a reload may change it). */
  readonly shutdownGrace: number;
  /** Reads the file again and applies it if it is valid; never rejects. Reloads run one at a time. */
  reload(trigger: ReloadTrigger): Promise<ReloadOutcome>;
  /** Stops accepting, closes the routes within `grace` ms, closes the listeners. Idempotent. */
  close(grace: number): Promise<CloseSummary[]>;
}

/** One configuration's routes as served: replaced as a whole by a reload. */
export interface Generation {
  readonly config: GatewayConfig;
  readonly built: BuiltGateway;
  readonly router: express.Router;
  readonly ready: Handler;
}

export interface Listeners {
  readonly main: http.Server;
  readonly admin: http.Server | undefined;
}

/**
 * Connects the file's session store, builds and starts the gateway. Throws ConfigFileError for the file,
 * MissingDependencyError without express (or node-redis for a sessionStore), an Error when Redis does not answer.
 */
export async function startGateway(config: GatewayConfig, logger: Required<RelayLogger>): Promise<RunningGateway> {
  const express = await loadExpress();
  const metrics = await loadMetrics(logger);
  const settings = storeSettings(config, process.env);
  const shared = settings && (await connectSharedSessions(settings, logger));
  try {
    return await serveGateway(express, config, logger, metrics, shared);
  } catch (error) {
    await shared?.close();
    throw error;
  }
}

async function serveGateway(
  express: Express,
  config: GatewayConfig,
  logger: Required<RelayLogger>,
  metrics: LoadedMetrics | undefined,
  shared: ConnectedSessions | undefined,
): Promise<RunningGateway> {
  // Every build, at start and on reload, uses the session store connected at start.
  const buildOptions = { logger, metrics: metrics?.metrics, sessions: shared ?? null };
  const generate = (next: GatewayConfig, built: BuiltGateway): Generation => generation(express, next, built);
  let current = generate(config, buildGateway(config, buildOptions));
  const app = express();
  app.disable('x-powered-by');
  const adminApp = config.admin ? express() : app;
  if (config.admin) adminApp.disable('x-powered-by');
  adminApp.get('/healthz', healthHandler([]));
  adminApp.get('/readyz', (req, res) => current.ready(req, res));
  adminApp.get('/metrics', metrics?.handler ?? metricsAbsent);
  // Dispatch reads `current` once per request: a reload during the request does not move it.
  app.use((req, res, next) => current.router(req, res, next));
  const main = await listenOn(app, config.listen, current.built.tls.listen);
  const admin = config.admin ? await listenOn(adminApp, config.admin, current.built.tls.admin) : undefined;
  const reloader = new GatewayReloader({
    logger,
    listeners: { main, admin },
    current: () => current,
    build: (next, reuse) => buildGateway(next, { ...buildOptions, reuse }),
    replace: (next, built) => (current = generate(next, built)),
  });
  let closing: Promise<CloseSummary[]> | undefined;
  return {
    url: urlOf(main, config.listen),
    admin: admin && config.admin && urlOf(admin, config.admin),
    get shutdownGrace() {
      return current.config.shutdownGrace;
    },
    reload: (trigger) => reloader.reload(trigger),
    close: (grace) =>
      (closing ??= (async () => {
        reloader.stop();
        // No new connections; idle keep-alive ones close now, busy ones once their response ends.
        const servers = admin ? [main, admin] : [main];
        const closed = servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve())));
        const summaries = await closeRoutes(
          current.built.routes.map((r) => r.route),
          { grace },
        );
        // Routes a reload retired drain on their own grace; shutdown cuts what is left of them now.
        for (const server of servers) server.closeAllConnections();
        await Promise.all([...closed, reloader.retired()]);
        await shared?.close();
        return summaries;
      })()),
  };
}

function generation(express: Express, config: GatewayConfig, built: BuiltGateway): Generation {
  const router = express.Router();
  if (built.capture) router.use(built.capture);
  for (const { config: route, route: mcp } of built.routes) router.use(route.path, mcp as RelayMiddleware);
  const ready = healthHandler(built.routes.map((r) => r.route));
  return { config, built, router, ready };
}

function loadExpress(): Promise<Express> {
  return loadOptional(
    async () => ((await import('express')) as { default: Express }).default,
    'serve needs express (an optional peer dependency of mcp-header-relay): npm install express',
  );
}

interface LoadedMetrics {
  readonly metrics: RouteMetrics;
  readonly handler: Handler;
}

/** relayMetrics() when prom-client is installed; without it the gateway runs and /metrics says why it is empty. */
async function loadMetrics(logger: Required<RelayLogger>): Promise<LoadedMetrics | undefined> {
  try {
    const { relayMetrics } = await import('../metrics/index.js');
    const metrics = relayMetrics();
    return { metrics, handler: metrics.handler };
  } catch (error) {
    // Only prom-client itself missing: any other failure to load the metrics is a fault to report.
    if ((error as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND' || !(error as Error).message.includes('prom-client')) throw error;
    logger.warn({ dependency: 'prom-client' }, 'mcp-header-relay serve: prom-client is not installed; /metrics answers 404 (npm install prom-client)');
    return undefined;
  }
}

const METRICS_ABSENT = JSON.stringify({ error: 'metrics_unavailable', message: 'prom-client is not installed; install it to serve metrics' });
const metricsAbsent: Handler = (_req, res) => {
  res.writeHead(404, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(METRICS_ABSENT);
};

function listenOn(handler: http.RequestListener, { host, port }: Listener, tls: ListenerTls | undefined): Promise<http.Server> {
  return new Promise((resolve, reject) => {
    const server = tls ? https.createServer(tls, handler) : http.createServer(handler);
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

function urlOf(server: http.Server, listener: Listener): string {
  const { address, port } = server.address() as AddressInfo;
  return `${listener.tls ? 'https' : 'http'}://${address.includes(':') ? `[${address}]` : address}:${port}`;
}
