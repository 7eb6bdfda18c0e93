/**
 * `serve`: the gateway as an Express app built from a GatewayConfig. captureHeaders, one mcpProxy per
 * route at its mount path, and the operational endpoints (/healthz, /readyz, /metrics) on the admin
 * listener when the file has one, else on the main listener ahead of the routes. Express is an optional
 * peer dependency of the library; the command loads it when it serves, and says so if it is missing.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import { healthHandler } from '../health-handler.js';
import { closeRoutes, type CloseSummary } from '../lifecycle.js';
import type { RelayLogger } from '../logger.js';
import type { RelayMiddleware } from '../options.js';
import type { RouteMetrics } from '../route-observer.js';
import { buildGateway } from './build-routes.js';
import type { GatewayConfig, Listener } from './config-file.js';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

export interface RunningGateway {
  /** `http://host:port` of the main listener, and of the admin listener (undefined without one). */
  readonly url: string;
  readonly admin: string | undefined;
  /** Stops accepting, closes the routes within `grace` ms, closes the listeners. Idempotent. */
  close(grace: number): Promise<CloseSummary[]>;
}

export class MissingDependencyError extends Error {}

/** Builds and starts the gateway; throws ConfigFileError for the file, MissingDependencyError without express. */
export async function startGateway(config: GatewayConfig, logger: Required<RelayLogger>): Promise<RunningGateway> {
  const express = await loadExpress();
  const metrics = await loadMetrics(logger);
  const { capture, routes } = buildGateway(config, { logger, metrics: metrics?.metrics });
  const mcpRoutes = routes.map((r) => r.route);
  const app = express();
  app.disable('x-powered-by');
  const adminApp = config.admin ? express() : app;
  if (config.admin) adminApp.disable('x-powered-by');
  adminApp.get('/healthz', healthHandler([]));
  adminApp.get('/readyz', healthHandler(mcpRoutes));
  adminApp.get('/metrics', metrics?.handler ?? metricsAbsent);
  if (capture) app.use(capture);
  for (const { config: route, route: mcp } of routes) app.use(route.path, mcp as RelayMiddleware);
  const main = await listenOn(app, config.listen);
  const admin = config.admin ? await listenOn(adminApp, config.admin) : undefined;
  let closing: Promise<CloseSummary[]> | undefined;
  return {
    url: urlOf(main),
    admin: admin && urlOf(admin),
    close: (grace) =>
      (closing ??= (async () => {
        // No new connections; idle keep-alive ones close now, busy ones once their response ends.
        const servers = admin ? [main, admin] : [main];
        const closed = servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve())));
        const summaries = await closeRoutes(mcpRoutes, { grace });
        for (const server of servers) server.closeAllConnections();
        await Promise.all(closed);
        return summaries;
      })()),
  };
}

async function loadExpress(): Promise<() => Express> {
  try {
    const module = (await import('express')) as { default: () => Express };
    return module.default;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw error;
    throw new MissingDependencyError('serve needs express (an optional peer dependency of mcp-header-relay): npm install express');
  }
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

function listenOn(handler: http.RequestListener, { host, port }: Listener): Promise<http.Server> {
  return new Promise((resolve, reject) => {
    const server = http.createServer(handler);
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

function urlOf(server: http.Server): string {
  const { address, port } = server.address() as AddressInfo;
  return `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
}
