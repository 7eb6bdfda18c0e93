/**
 * Type tests of the options users write (lib/options.ts). A positive case is a tstyche assertion; a
 * negative one is a `@ts-expect-error` whose text must match the single error it suppresses, so it
 * fails both when the error disappears and when a different error takes its place.
 */
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type express from 'express';
import { describe, expect, test } from 'tstyche';
import { captureHeaders, mcpProxy, memorySessionStore, tokenExchange } from '../../lib/index.js';
import type { CredentialAuditEvent, PinSessionOptions, SessionOptions } from '../../lib/index.js';

const target = 'http://127.0.0.1:9001/mcp';
const principal = (req: IncomingMessage): string | undefined => req.headers['x-user'] as string | undefined;

describe('session', () => {
  test('the string forms are request and bind only', () => {
    expect(mcpProxy).type.toBeCallableWith({ target, session: 'request' });
    expect(mcpProxy).type.toBeCallableWith({ target, session: 'bind' });
    expect(mcpProxy).type.toBeCallableWith({ target, session: { mode: 'request' } });
    // @ts-expect-error Type '"pin"' is not assignable to type 'SessionOptions | undefined'
    mcpProxy({ target, session: 'pin' });
    // @ts-expect-error Type '"sticky"' is not assignable to type 'SessionOptions | undefined'
    mcpProxy({ target, session: 'sticky' });
  });

  test('pin requires principal', () => {
    expect(mcpProxy).type.toBeCallableWith({ target, session: { mode: 'pin', principal } });
    expect(mcpProxy).type.toBeCallableWith({
      target,
      session: { mode: 'pin', principal: () => undefined, idleTtl: 1, absoluteTtl: 2, maxSessions: 3, maxSessionsPerPrincipal: 4, allowLegacySse: true },
    });
    // @ts-expect-error Property 'principal' is missing in type '{ mode: "pin"; }'
    mcpProxy({ target, session: { mode: 'pin' } });
    // @ts-expect-error Property 'principal' is missing in type '{ mode: "pin"; idleTtl: number; }'
    mcpProxy({ target, session: { mode: 'pin', idleTtl: 1000 } });
  });

  test('principal takes the node:http request and answers a string or undefined', () => {
    expect<PinSessionOptions['principal']>().type.toBe<(req: IncomingMessage) => string | undefined>();
    // @ts-expect-error Type 'number' is not assignable to type 'string'
    mcpProxy({ target, session: { mode: 'pin', principal: () => 42 } });
  });

  test("principal's parameter may be the app's own request type (docs/sessions.md relies on it)", () => {
    // The docs' pattern: the request with what the auth middleware adds, as an optional member.
    interface AuthenticatedRequest extends IncomingMessage {
      user?: { id: string };
    }
    expect(mcpProxy).type.toBeCallableWith({ target, session: { mode: 'pin', principal: (req: AuthenticatedRequest) => req.user?.id } });
    // principal is a method signature, so its parameter is checked bivariantly: Express's Request (which
    // Passport's types extend with `user`) is accepted although an IncomingMessage is not one.
    expect(mcpProxy).type.toBeCallableWith({ target, session: { mode: 'pin', principal: (req: express.Request) => req.ip } });
    expect(mcpProxy).type.toBeCallableWith({ target, session: { mode: 'bind', principal: (req: express.Request) => req.ip } });
    // @ts-expect-error Type 'IncomingMessage' is not assignable to type 'string'
    mcpProxy({ target, session: { mode: 'pin', principal: (req: string) => req } });
  });

  test('bind takes a store, a key and a principal, all optional', () => {
    expect(mcpProxy).type.toBeCallableWith({
      target,
      session: { mode: 'bind', store: memorySessionStore(), sessionKey: 'k'.repeat(32), principal },
    });
    expect(mcpProxy).type.toBeCallableWith({ target, session: { mode: 'bind', sessionKey: new Uint8Array(32) } });
    expect(mcpProxy).type.toBeCallableWith({ target, session: { mode: 'bind', maxSessionsPerClient: 5 } });
    expect(mcpProxy).type.toBeCallableWith({ target, session: { mode: 'bind' } });
    // @ts-expect-error Type 'number' is not assignable to type 'string | Uint8Array<ArrayBufferLike> | undefined'
    mcpProxy({ target, session: { mode: 'bind', sessionKey: 42 } });
  });

  test('each mode takes only its own keys', () => {
    // @ts-expect-error 'maxSessionsPerPrincipal' does not exist in type 'BindSessionOptions'
    mcpProxy({ target, session: { mode: 'bind', maxSessionsPerPrincipal: 5 } });
    // @ts-expect-error 'store' does not exist in type 'PinSessionOptions'
    mcpProxy({ target, session: { mode: 'pin', principal, store: memorySessionStore() } });
    // @ts-expect-error 'idleTtl' does not exist in type '{ mode: "request"; }'
    mcpProxy({ target, session: { mode: 'request', idleTtl: 1000 } });
  });

  test('SessionOptions is the union of the modes', () => {
    expect<SessionOptions>().type.toBeAssignableFrom<'request' | 'bind'>();
    expect<SessionOptions>().type.not.toBeAssignableFrom<'pin'>();
    expect<SessionOptions>().type.not.toBeAssignableFrom<{ mode: 'pin' }>();
  });
});

describe('mcpProxy options', () => {
  test('target is a string or a URL and is required', () => {
    expect(mcpProxy).type.toBeCallableWith({ target: new URL(target) });
    // @ts-expect-error Property 'target' is missing
    mcpProxy({});
    // @ts-expect-error Type 'number' is not assignable to type 'string | URL'
    mcpProxy({ target: 9001 });
  });

  test('unknown keys are errors', () => {
    // @ts-expect-error 'pasthrough' does not exist in type 'McpProxyOptions'
    mcpProxy({ target, pasthrough: ['x-tenant'] });
    // @ts-expect-error 'timeout' does not exist in type 'McpProxyOptions'
    mcpProxy({ target, timeout: 1000 });
    // @ts-expect-error 'secret' does not exist in type 'RouteHeaders'
    mcpProxy({ target, headers: { secret: { 'X-Api-Key': 'KEY' } } });
  });

  test('static header values are strings', () => {
    expect(mcpProxy).type.toBeCallableWith({
      target,
      headers: { plaintext: { 'X-MCP-Toolsets': 'projects' }, fromSecret: { 'X-Api-Key': 'GITHUB_API_KEY' } },
    });
    // @ts-expect-error Type 'number' is not assignable to type 'string'
    mcpProxy({ target, headers: { plaintext: { 'X-Retries': 3 } } });
    // @ts-expect-error Type 'undefined' is not assignable to type 'string'
    mcpProxy({ target, headers: { plaintext: { 'X-Region': process.env.REGION } } });
    // @ts-expect-error Type 'string[]' is not assignable to type 'string'
    mcpProxy({ target, headers: { fromSecret: { 'X-Api-Key': ['A', 'B'] } } });
  });

  test('lists are readonly string arrays', () => {
    const names = ['x-tenant'] as const;
    expect(mcpProxy).type.toBeCallableWith({ target, passthrough: names, allowedHosts: names, allowedOrigins: names, responseHeaders: names });
    // @ts-expect-error Type 'string' is not assignable to type 'readonly string[]'
    mcpProxy({ target, allowedHosts: 'mcp.example.com' });
  });

  test('numbers and flags', () => {
    expect(mcpProxy).type.toBeCallableWith({ target, connectTimeout: 1, responseTimeout: 2, maxValueLength: 3, allowCredentials: true });
    // @ts-expect-error Type 'string' is not assignable to type 'number'
    mcpProxy({ target, responseTimeout: '5m' });
  });
});

describe('captureHeaders options', () => {
  test('allow is required', () => {
    expect(captureHeaders).type.toBeCallableWith({ allow: ['x-mcp-api-key'] });
    expect(captureHeaders).type.toBeCallableWith({ allow: ['authorization'] as const, allowCredentials: true, maxValueLength: 100, logger: console });
    // @ts-expect-error Property 'allow' is missing
    captureHeaders({});
    // @ts-expect-error Expected 1 arguments, but got 0
    captureHeaders();
    // @ts-expect-error Type 'string' is not assignable to type 'readonly string[]'
    captureHeaders({ allow: 'x-mcp-api-key' });
  });

  test('unknown keys are errors', () => {
    // @ts-expect-error 'alow' does not exist in type 'CaptureHeadersOptions'
    captureHeaders({ allow: ['x-tenant'], alow: ['x-tenant'] });
    // @ts-expect-error 'passthrough' does not exist in type 'CaptureHeadersOptions'
    captureHeaders({ allow: ['x-tenant'], passthrough: ['x-tenant'] });
  });
});

describe('identity options (headers.fromCaptured, template, fromRequest, fromCredential; principal, required, audit)', () => {
  test('the route headers take names, templates, functions and credential sources', () => {
    expect(mcpProxy).type.toBeCallableWith({
      target,
      principal,
      headers: {
        fromCaptured: { Authorization: 'x-upstream-authorization' },
        template: { 'X-Figma-Token': 'Bearer {captured:x-user-token}' },
        fromRequest: { 'X-User-Id': (req: IncomingMessage) => req.headers['x-user'] as string | undefined, 'X-Org': () => Promise.resolve('acme') },
        fromCredential: {
          'X-Api-Key': tokenExchange({
            tokenEndpoint: 'https://as.example/token',
            clientId: 'gw',
            clientSecret: { secret: 'S' },
            subjectToken: () => undefined,
          }),
        },
      },
      required: ['authorization'],
      audit: (event: CredentialAuditEvent) => void event.headers.map((h) => h.source),
    });
  });

  test('a computed header returns a string or undefined, never a number', () => {
    // @ts-expect-error Type 'number' is not assignable to type 'string | PromiseLike<string | undefined> | undefined'
    mcpProxy({ target, headers: { fromRequest: { 'X-U': () => 42 } } });
  });

  test('a template is a string, a credential entry a source', () => {
    // @ts-expect-error Type 'number' is not assignable to type 'string'
    mcpProxy({ target, headers: { template: { 'X-U': 1 } } });
    // @ts-expect-error Type 'string' is not assignable to type 'CredentialSource | CredentialHeader'
    mcpProxy({ target, headers: { fromCredential: { 'X-U': 'token' } } });
  });
});

describe('tls and agent', () => {
  const httpsTarget = 'https://127.0.0.1:9443/mcp';

  test('PEM options take strings and Buffers, ca a list of either', () => {
    expect(mcpProxy).type.toBeCallableWith({
      target: httpsTarget,
      tls: { ca: [Buffer.from(''), 'pem'], cert: Buffer.from(''), key: 'pem', passphrase: 'p', servername: 'mcp.internal', rejectUnauthorized: true },
    });
  });

  test('a file name is not a PEM option', () => {
    // @ts-expect-error Type 'URL' is not assignable to type 'string | Buffer<ArrayBufferLike> | readonly (string | Buffer<ArrayBufferLike>)[] | undefined'
    mcpProxy({ target: httpsTarget, tls: { ca: new URL('file:///ca.pem') } });
  });

  test('agent takes node agents', () => {
    expect(mcpProxy).type.toBeCallableWith({ target: httpsTarget, agent: new https.Agent() });
    expect(mcpProxy).type.toBeCallableWith({ target, agent: new http.Agent() });
  });
});
