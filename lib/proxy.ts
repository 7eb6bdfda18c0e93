/**
 * mcpProxy: one backend route. Applies the forwarding policy to `req.headers`, then hands the request
 * to http-proxy-middleware, and maps everything that can go wrong to a JSON-RPC error (or, once a
 * response is flowing, to closing the connection). Nothing a client or backend does throws out of here.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { createProxyMiddleware, proxyEventsPlugin } from 'http-proxy-middleware';
import { reject, sendRejection, type Rejection } from './rejection.js';
import { getForwardedHeaders, type ForwardedHeaders } from './capture.js';
import { prepareOutgoing, type Preparation } from './outgoing-request.js';
import { checkRequest } from './request-checks.js';
import { upstreamPath } from './upstream-path.js';
import type { McpProxyOptions, RelayMiddleware } from './options.js';
import { parseProxyOptions } from './parse-options.js';
import { filterResponseHeaders, invalidStatusLine, isEventStream } from './response-headers.js';
import { writeAsReceived } from './response-writes.js';
import { BackendTimeout, RelayRequest, setHeaders } from './relay-request.js';
import { requestSlot } from './request-slot.js';
import { SessionGuard, type Admission, type Admitted } from './session-guard.js';
import { ConfigHints } from './config-hints.js';
import { asRoute, routeOperations, type McpRoute } from './route-operations.js';
import { dropOrphanedTraceState } from './trace-context.js';
import { backendFailure, errorCode, isServerResponse } from './backend-failure.js';
import { withoutUndefined } from './without-undefined.js';

/**
 * Proxy middleware for one backend MCP server. Mount it with `app.use(path, mcpProxy({...}))`.
 * Throws HeaderConfigError at construction for any configuration mistake.
 */
export function mcpProxy(options: McpProxyOptions): McpRoute {
  const config = parseProxyOptions(options);
  const states = requestSlot<RelayRequest>();
  const { logger } = config;
  const sessions = config.session.mode === 'request' ? undefined : new SessionGuard(config.session, config);
  const hints = new ConfigHints(config);
  const operations = routeOperations(config, sessions);
  const { agent, lifecycle, tally } = operations;

  /** Logs the decision (names and codes only) and answers with the JSON-RPC error. */
  const fail = (req: IncomingMessage, res: ServerResponse, rejection: Rejection, code?: string): void => {
    const { reason, status, header, detail, session } = rejection;
    const level = status >= 500 || rejection.suspicious ? 'warn' : 'info';
    const fields = { reason, status, header, detail, session, code, method: req.method, mount: (req as { baseUrl?: string }).baseUrl || undefined };
    logger[level](withoutUndefined(fields), `mcpProxy: ${status} ${reason}`);
    tally?.rejected(req, reason);
    sendRejection(res, rejection);
  };

  const proxy = createProxyMiddleware({
    // A URL, not a string: both http-proxy-middleware and httpxy would parse a string on every request.
    target: new URL(config.origin),
    changeOrigin: true,
    xfwd: false,
    followRedirects: false,
    agent,
    // HPM's default plugins log each response (building a URL per request) and add two listeners per
    // request for errors and SSE aborts; the handlers below and httpxy's own abort cover both.
    ejectPlugins: true,
    plugins: [proxyEventsPlugin],
    on: {
      proxyReq(proxyReq, req, res) {
        const state = states.get(req);
        if (!state) return;
        state.proxyReq = proxyReq;
        // `req.headers` is still the outgoing set: what the relay forwarded, before a tracer's injection.
        if (config.forwardTraceContext) dropOrphanedTraceState(proxyReq, req.headers);
        // The outgoing headers are copied by now; the host app gets the client's view back.
        state.restoreClientView();
        if (state.timedOut) {
          proxyReq.destroy(new BackendTimeout());
          return;
        }
        // Written out in full: from now on the backend is working, and a tool may take minutes.
        proxyReq.once('finish', () => {
          if (state.phase === 'connect' && !state.timedOut) state.arm('response');
        });
        // A 101 to a request that asked for no upgrade: without this listener Node drops the socket
        // and the request emits neither `response` nor `error`.
        proxyReq.once('upgrade', (_upgraded: IncomingMessage, socket: Duplex) => {
          socket.destroy();
          badResponse(req, res, state, 'status 101 (Switching Protocols) to a request that asked for no upgrade');
        });
        if (state.body) proxyReq.end(state.body);
      },
      proxyRes(proxyRes, req, res) {
        const state = states.get(req);
        // Node's client accepts status lines its server cannot write: answered here, before httpxy copies them.
        const invalid = invalidStatusLine(proxyRes.statusCode, proxyRes.statusMessage);
        if (invalid) {
          proxyRes.destroy();
          badResponse(req, res, state, invalid);
          return;
        }
        const stream = isEventStream(proxyRes.headers['content-type']);
        hints.onBackendStatus(proxyRes.statusCode ?? 0);
        tally?.responded(req, stream);
        if (state) {
          state.proxyRes = proxyRes;
          // An event stream may stay quiet for hours; any other response must start (a body byte) within
          // `responseTimeout`, counted from the end of the request (or from now, for an early answer).
          if (stream) state.stopTimer();
          else if (state.phase === 'connect') state.arm('response');
          if (state.session) sessions?.onResponse(state.session, req.method, proxyRes.statusCode ?? 0, proxyRes.headers);
        }
        const echoed = filterResponseHeaders(proxyRes.headers, config.response, res, state?.secrets ?? [], stream);
        for (const header of echoed) {
          logger.warn({ header, reason: 'secret_echo' }, "mcpProxy: a response header carried this route's secret value and was dropped");
        }
        // httpxy would otherwise echo the client's Connection header into the response.
        // A closing route asks the client not to reuse the connection either.
        proxyRes.headers.connection = lifecycle.closing || wantsClose(state?.clientHeaders) ? 'close' : 'keep-alive';
        writeAsReceived(req, proxyRes, res);
        if (stream) {
          // Headers go out now, not with the first event: a quiet GET stream must still open.
          queueMicrotask(() => {
            if (!res.headersSent && !res.destroyed) res.flushHeaders();
          });
        }
      },
      error(err, req, res) {
        const state = states.get(req);
        state?.stopTimer();
        state?.restoreClientView();
        /* c8 ignore next 4: httpxy passes a socket here only for a WebSocket upgrade, which the relay never proxies */
        if (!isServerResponse(res)) {
          res.destroy();
          return;
        }
        if (state?.proxyRes || res.headersSent) {
          if (!res.writableEnded) res.destroy();
          return;
        }
        fail(req, res, backendFailure(err, state), errorCode(err));
      },
    },
  });

  logger.info(
    {
      target: `${config.origin}${config.targetPath}`,
      passthrough: config.passthrough ? [...config.passthrough] : 'all captured',
      static: [...config.plaintext.keys(), ...config.fromSecret.map((h) => h.name)],
      session: config.session.mode,
    },
    'mcpProxy: route configured',
  );

  /** The backend's response cannot be passed on: 502, and the upstream connection is not reused. */
  const badResponse = (req: IncomingMessage, res: ServerResponse, state: RelayRequest | undefined, detail: string): void => {
    state?.stopTimer();
    state?.restoreClientView();
    fail(req, res, { ...reject(502, 'backend_bad_response', 'Bad gateway: the backend sent an invalid HTTP response'), detail });
  };

  /** Prepares what the backend receives (possibly asynchronously), then hands the request to http-proxy-middleware. */
  const forward = (req: IncomingMessage, res: ServerResponse, captured: ForwardedHeaders, admission: Admitted | undefined): void => {
    const prepared = prepareOutgoing(req, config, captured, admission);
    if (!(prepared instanceof Promise)) return send(req, res, prepared, captured);
    prepared.then((result) => send(req, res, result, captured)).catch((err: unknown) => unexpected(req, res, err));
  };

  const send = (req: IncomingMessage, res: ServerResponse, prepared: Preparation, captured: ForwardedHeaders): void => {
    if (!prepared.ok) return fail(req, res, prepared.rejection);
    if (res.destroyed || res.writableEnded) return; // the client left while a computed header was awaited
    tally?.sent(req, captured, prepared.outgoing);
    const state = new RelayRequest(req, res, prepared.parts, config, fail);
    states.set(req, state);
    setHeaders(req, prepared.outgoing);
    // The exact upstream path, set here rather than through pathRewrite (an extra await per request in
    // http-proxy-middleware); the host app gets its own URL back with its headers.
    req.url = upstreamPath(state.clientUrl, config, droppedParameter);
    /* c8 ignore start: next(err) follows HPM's 'error' event, answered above (only when the client's response errors mid-proxy, a race); the promise never rejects */
    proxy(req, res, (err) => {
      state.stopTimer();
      if (err !== undefined && !res.headersSent) fail(req, res, reject(502, 'backend_unreachable', 'Bad gateway: the backend could not be reached'));
    }).catch((err: unknown) => {
      logger.error({ code: errorCode(err) }, 'mcpProxy: unexpected proxy failure');
      tally?.rejected(req, 'backend_unreachable');
      sendRejection(res, reject(502, 'backend_unreachable', 'Bad gateway: the backend could not be reached'));
    });
    /* c8 ignore stop */
  };

  /** Continues after the session check, which a shared store may answer asynchronously. */
  const admitted = (req: IncomingMessage, res: ServerResponse, captured: ForwardedHeaders, admission: Admission): void => {
    if (!admission.ok) return fail(req, res, admission.rejection);
    if (res.destroyed || res.writableEnded) return; // the client left while the store answered
    forward(req, res, captured, admission);
  };

  const unexpected = (req: IncomingMessage, res: ServerResponse, err: unknown): void => {
    logger.error({ code: errorCode(err) }, 'mcpProxy: unexpected relay failure');
    tally?.rejected(req, 'internal_error');
    sendRejection(res, reject(500, 'internal_error', 'Internal error in the MCP relay'));
  };

  const refuseClosing = (req: IncomingMessage, res: ServerResponse): void => {
    res.setHeader('connection', 'close');
    fail(req, res, { ...reject(503, 'route_closed', 'Service unavailable: this route is shutting down'), retryAfter: 1 });
  };

  const droppedParameter = (name: string): void =>
    logger.info({ parameter: name }, 'mcpProxy: a query parameter fixed by the target was dropped from the request');

  const servers = new WeakSet<EventEmitter>();
  const middleware: RelayMiddleware = function mcpProxyMiddleware(req, res) {
    try {
      makeRoomForCloseListener(req, servers);
      tally?.begin(req, res);
      if (lifecycle.closing) return refuseClosing(req, res);
      lifecycle.track(res);
      if (hints.pending) hints.onRequest(req);
      const captured = getForwardedHeaders(req);
      const refusal = checkRequest(req, config, captured);
      if (refusal) return fail(req, res, refusal);
      if (!sessions) return forward(req, res, captured, undefined);
      const admission = sessions.admit(req);
      if (!(admission instanceof Promise)) return admitted(req, res, captured, admission);
      admission.then((result) => admitted(req, res, captured, result)).catch((err: unknown) => unexpected(req, res, err));
    } catch (err) {
      unexpected(req, res, err);
    }
  };
  return asRoute(middleware, config, operations);
}

/**
 * http-proxy-middleware adds one `close` listener per route to the server it first sees a request on.
 * A gateway with more than ten routes would get Node's MaxListenersExceededWarning for a listener
 * that is no leak: each route raises the server's limit by its one listener, once.
 */
function makeRoomForCloseListener(req: IncomingMessage, servers: WeakSet<EventEmitter>): void {
  const server = (req.socket as { server?: EventEmitter } | null)?.server;
  if (!server || servers.has(server)) return;
  servers.add(server);
  const max = server.getMaxListeners();
  if (max !== 0 && max !== Infinity) server.setMaxListeners(max + 1);
}

function wantsClose(headers: IncomingMessage['headers'] | undefined): boolean {
  return /(^|,)\s*close\s*(,|$)/i.test(headers?.connection ?? '');
}
