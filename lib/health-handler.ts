/**
 * `healthHandler`: a readiness endpoint over routes (and checks of your own). Probes run in parallel,
 * each bounded by its route's timeout and cache; the answer is 200 when every check is ok, else 503.
 * The body holds route names, statuses and reason words only (see RouteHealth): never a header value
 * or what a backend wrote.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HealthCheck, HealthHandlerOptions, HealthReport, RouteHealth } from './health-options.js';

export type HealthRequestHandler = (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => void;

/**
 * `app.get('/readyz', healthHandler([github, jira]))`. With no checks (`healthHandler([])`) it is a
 * liveness endpoint: 200 without calling any backend.
 */
export function healthHandler(checks: readonly HealthCheck[], options: HealthHandlerOptions = {}): HealthRequestHandler {
  const list = [...checks];
  const detail = options.detail ?? true;
  return (_req, res) => {
    void Promise.all(list.map(runCheck)).then((routes) => {
      const ok = routes.every((r) => r.ok);
      const report: HealthReport = detail ? { status: ok ? 'ok' : 'fail', routes } : { status: ok ? 'ok' : 'fail' };
      if (res.destroyed || res.writableEnded) return;
      res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(report));
    });
  };
}

/** A check of the host app's own may throw; its message is not shown (it may quote anything). */
async function runCheck(check: HealthCheck): Promise<RouteHealth> {
  const started = performance.now();
  try {
    return await check.probe();
  } catch {
    return {
      route: check.name,
      ok: false,
      reason: 'internal_error',
      latencyMs: Math.round(performance.now() - started),
      checkedAt: new Date().toISOString(),
      cached: false,
    };
  }
}
