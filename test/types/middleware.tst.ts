/**
 * The middleware the factories return fits Express 5 (@types/express) and Express 4 (@types/express@4,
 * installed as `types-express4`): the peer range is ^4.21 || ^5 and the library is typed against node:http.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type express from 'express';
import type express4 from 'types-express4';
import { describe, expect, test } from 'tstyche';
import { captureHeaders, getForwardedHeaders, healthHandler, mcpProxy } from '../../lib/index.js';
import type { ForwardedHeaders, RelayMiddleware } from '../../lib/index.js';

// Declared, not built: type tests are never run.
declare const req5: express.Request;
declare const res5: express.Response;
declare const next5: express.NextFunction;
declare const app5: express.Express;
declare const router5: express.Router;
declare const req4: express4.Request;
declare const app4: express4.Express;
declare const router4: express4.Router;
declare const incoming: IncomingMessage;

const capture = captureHeaders({ allow: ['x-mcp-api-key'] });
const proxy = mcpProxy({ target: 'http://127.0.0.1:9001/mcp' });

describe('RelayMiddleware', () => {
  test('both factories return it', () => {
    expect(capture).type.toBe<RelayMiddleware>();
    // mcpProxy's McpRoute is one, with the route's operations (name, probe) added.
    expect(proxy).type.toBeAssignableTo<RelayMiddleware>();
  });

  test('is a connect-style (req, res, next) function on node:http types', () => {
    expect<RelayMiddleware>().type.toBe<(req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void>();
  });
});

describe('Express 5', () => {
  test('app.use and router.use take it, with and without a path', () => {
    expect(app5.use).type.toBeCallableWith(capture);
    expect(app5.use).type.toBeCallableWith('/github', proxy);
    expect(app5.use).type.toBeCallableWith('/backends/:name', capture, proxy);
    expect(router5.use).type.toBeCallableWith('/jira', proxy);
  });

  test('it is a RequestHandler, and can be called from one', () => {
    expect(proxy).type.toBeAssignableTo<express.RequestHandler>();
    expect(proxy).type.toBeCallableWith(req5, res5, next5);
  });

  test('healthHandler mounts with app.get', () => {
    expect(app5.get).type.toBeCallableWith('/readyz', healthHandler([proxy]));
  });

  test('getForwardedHeaders takes an Express request', () => {
    expect(getForwardedHeaders).type.toBeCallableWith(req5);
    expect(getForwardedHeaders(req5)).type.toBe<ForwardedHeaders>();
  });
});

describe('Express 4', () => {
  test('the alias holds the 4.x types (their Request still has param())', () => {
    expect<express4.Request>().type.toHaveProperty('param');
    expect<express.Request>().type.not.toHaveProperty('param');
  });

  test('app.use and router.use take it, with and without a path', () => {
    expect(app4.use).type.toBeCallableWith(capture);
    expect(app4.use).type.toBeCallableWith('/github', proxy);
    expect(router4.use).type.toBeCallableWith('/jira', proxy);
  });

  test('healthHandler mounts with app.get', () => {
    expect(app4.get).type.toBeCallableWith('/readyz', healthHandler([proxy]));
  });

  test('it is a RequestHandler', () => {
    expect(proxy).type.toBeAssignableTo<express4.RequestHandler>();
    expect(getForwardedHeaders).type.toBeCallableWith(req4);
  });
});

describe('ForwardedHeaders', () => {
  test('is a read-only map of names to strings', () => {
    expect<ForwardedHeaders>().type.toBe<Readonly<Record<string, string>>>();
    const headers = getForwardedHeaders(incoming);
    // @ts-expect-error Index signature in type 'Readonly<Record<string, string>>' only permits reading
    headers['x-tenant'] = 'acme';
  });
});
