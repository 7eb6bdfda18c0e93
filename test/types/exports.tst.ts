/**
 * The package's export surface (lib/index.ts). The type-only imports below are themselves checks: a
 * type that stops being exported fails this file. The value exports are pinned as a set, so a new
 * export (or an internal helper leaking out) is a deliberate change to this test.
 */
import { describe, expect, test } from 'tstyche';
import type * as relay from '../../lib/index.js';
import type { IncomingMessage } from 'node:http';
import {
  CredentialResolveError,
  closeRoutes,
  HeaderConfigError,
  RESPONSE_HEADERS,
  SecretReadError,
  envSecrets,
  fileSecrets,
  healthHandler,
  memorySessionStore,
  tokenExchange,
} from '../../lib/index.js';
import type {
  AdmitAnswer,
  BackendTlsOptions,
  BindSessionOptions,
  CaptureHeadersOptions,
  CloseOptions,
  CloseSummary,
  CredentialCacheOptions,
  CredentialSource,
  ExplainInput,
  Explanation,
  FileSecretsOptions,
  ForwardedHeaders,
  HeaderConfigErrorCode,
  HealthCheck,
  HealthHandlerOptions,
  HealthOptions,
  HealthReason,
  HealthReport,
  HealthRequestHandler,
  LogFields,
  McpProxyOptions,
  McpRoute,
  PinSessionOptions,
  ProbeOptions,
  RejectReason,
  RelayLogger,
  RelayMiddleware,
  ResolvedCredential,
  RouteHealth,
  SecretProvider,
  SessionEntry,
  SessionLimits,
  SessionOptions,
  SessionQuota,
  SessionStore,
  SessionTtl,
  StaticHeaders,
  TokenExchangeClientSecret,
  TokenExchangeOptions,
} from '../../lib/index.js';

describe('value exports', () => {
  test('are exactly the documented ones', () => {
    expect<keyof typeof relay>().type.toBe<
      | 'captureHeaders'
      | 'getForwardedHeaders'
      | 'mcpProxy'
      | 'RESPONSE_HEADERS'
      | 'envSecrets'
      | 'fileSecrets'
      | 'SecretReadError'
      | 'HeaderConfigError'
      | 'memorySessionStore'
      | 'CredentialResolveError'
      | 'tokenExchange'
      | 'healthHandler'
      | 'formatExplanation'
      | 'closeRoutes'
    >();
  });

  test('factories return the public interfaces', () => {
    expect(envSecrets()).type.toBe<SecretProvider>();
    expect(envSecrets).type.toBeCallableWith({ KEY: 'value' });
    expect(fileSecrets('/run/secrets', { refreshInterval: 1000 })).type.toBe<SecretProvider>();
    // @ts-expect-error 'refresh' does not exist in type 'FileSecretsOptions'
    fileSecrets('/run/secrets', { refresh: 1000 });
    expect(memorySessionStore()).type.toBe<SessionStore>();
    expect(RESPONSE_HEADERS).type.toBe<readonly string[]>();
  });
});

describe('lifecycle', () => {
  test('route.close and closeRoutes take a grace and resolve to summaries', () => {
    const route = null as unknown as McpRoute;
    expect(route.close()).type.toBe<Promise<CloseSummary>>();
    expect(route.close).type.toBeCallableWith({ grace: 5000 } satisfies CloseOptions);
    expect(route.close).type.not.toBeCallableWith({ graceMs: 5000 });
    expect(closeRoutes([route, route], { grace: 0 })).type.toBe<Promise<CloseSummary[]>>();
    expect<CloseSummary>().type.toBe<{ readonly route: string; readonly finished: number; readonly cut: number }>();
    expect<McpRoute['name']>().type.toBe<string>();
  });
});

describe('health', () => {
  test('a route probes to a RouteHealth; healthHandler takes routes and checks of your own', () => {
    const route = null as unknown as McpRoute;
    expect(route.probe()).type.toBe<Promise<RouteHealth>>();
    expect(route.probe).type.toBeCallableWith({ fresh: true } satisfies ProbeOptions);
    expect(healthHandler([route])).type.toBe<HealthRequestHandler>();
    const own: HealthCheck = { name: 'db', probe: () => Promise.resolve({ route: 'db', ok: true, latencyMs: 1, checkedAt: '', cached: false }) };
    expect(healthHandler).type.toBeCallableWith([route, own], { detail: false } satisfies HealthHandlerOptions);
    expect<RouteHealth['reason']>().type.toBe<HealthReason | undefined>();
    expect<HealthReport['status']>().type.toBe<'ok' | 'fail'>();
    expect<McpProxyOptions['health']>().type.toBe<HealthOptions | undefined>();
  });
});

describe('errors', () => {
  test('HeaderConfigError carries a typed code, a path and a rule', () => {
    const error = new HeaderConfigError('ERR_INVALID_OPTION', 'allow', 'must be a list');
    expect(error).type.toBeAssignableTo<Error>();
    expect(error.code).type.toBe<HeaderConfigErrorCode>();
    expect(error.path).type.toBe<string>();
    expect(error.rule).type.toBe<string>();
    // @ts-expect-error Argument of type '"ERR_NOPE"' is not assignable to parameter of type 'HeaderConfigErrorCode'
    new HeaderConfigError('ERR_NOPE', 'allow', 'x');
  });

  test('HeaderConfigErrorCode lists the documented codes', () => {
    expect<HeaderConfigErrorCode>().type.toBeAssignableFrom<'ERR_RESTRICTED_HEADER' | 'ERR_SECRET_MISSING' | 'ERR_INVALID_TARGET' | 'ERR_INVALID_TLS'>();
    expect<HeaderConfigErrorCode>().type.not.toBeAssignableFrom<'ERR_UNKNOWN'>();
  });

  test('SecretReadError is an Error a provider can throw', () => {
    expect(new SecretReadError('cache is stale')).type.toBeAssignableTo<Error>();
  });

  test('CredentialResolveError is an Error a credential source can throw', () => {
    expect(new CredentialResolveError('issuer answered 503')).type.toBeAssignableTo<Error>();
  });

  test('RejectReason names the run-time refusals', () => {
    expect<RejectReason>().type.toBeAssignableFrom<'duplicate_header' | 'session_not_found' | 'backend_timeout' | 'backend_tls_failed' | 'host_not_allowed'>();
    expect<RejectReason>().type.not.toBeAssignableFrom<'not_a_reason'>();
    expect<RejectReason>().type.not.toBeAssignableFrom<string>();
  });
});

describe('explain', () => {
  test('route.explain takes an ExplainInput and resolves to an Explanation that formatExplanation renders', () => {
    expect<McpRoute['explain']>().type.toBe<(input: ExplainInput) => Promise<Explanation>>();
    expect<typeof relay.formatExplanation>().type.toBe<(result: Explanation) => string>();
    expect<Explanation['outcome']>().type.toBe<'forwarded' | 'rejected'>();
  });

  test('explain needs headers; everything else is optional', () => {
    expect<McpRoute['explain']>().type.toBeCallableWith({ headers: { 'x-tenant': 'acme' } });
    expect<McpRoute['explain']>().type.not.toBeCallableWith({ method: 'GET' });
  });
});

describe('option and contract types', () => {
  test('are the shapes the factories take', () => {
    expect<Parameters<typeof relay.mcpProxy>[0]>().type.toBe<McpProxyOptions>();
    expect<Parameters<typeof relay.captureHeaders>[0]>().type.toBe<CaptureHeadersOptions>();
    expect<McpProxyOptions['headers']>().type.toBe<StaticHeaders | undefined>();
    expect<McpProxyOptions['session']>().type.toBe<SessionOptions | undefined>();
    expect<McpProxyOptions['logger']>().type.toBe<RelayLogger | undefined>();
    expect<McpProxyOptions['tls']>().type.toBe<BackendTlsOptions | undefined>();
    expect<Parameters<typeof relay.fileSecrets>[1]>().type.toBe<FileSecretsOptions | undefined>();
    expect<ReturnType<typeof relay.mcpProxy>>().type.toBe<McpRoute>();
    expect<McpRoute>().type.toBeAssignableTo<RelayMiddleware>();
    expect<ReturnType<typeof relay.getForwardedHeaders>>().type.toBe<ForwardedHeaders>();
  });

  test('both session modes share the limits', () => {
    expect<BindSessionOptions>().type.toBeAssignableTo<SessionLimits>();
    expect<PinSessionOptions>().type.toBeAssignableTo<SessionLimits>();
    expect<SessionLimits>().type.toBe<{ idleTtl?: number; absoluteTtl?: number; maxSessions?: number; allowLegacySse?: boolean }>();
  });

  test('SessionTtl and LogFields', () => {
    expect<SessionTtl>().type.toBe<{ readonly idleMs: number; readonly absoluteMs: number }>();
    expect<LogFields>().type.toBeAssignableFrom<{ reason: string; status: number; header: undefined; names: string[]; suspicious: boolean }>();
    expect<LogFields>().type.not.toBeAssignableFrom<{ value: Buffer }>();
  });

  test("a store's optional admit(): the quota it checks, the entry it records, its answers", () => {
    expect<SessionQuota>().type.toBe<{ readonly scope: string; readonly client: string; readonly maxSessions: number; readonly maxPerClient: number }>();
    expect<SessionEntry>().type.toBe<{ readonly key: string; readonly value: string; readonly ttl: SessionTtl }>();
    expect<AdmitAnswer>().type.toBe<'ok' | 'exists' | 'sessions' | 'client'>();
    expect<SessionStore['admit']>().type.toBe<((quota: SessionQuota, entry?: SessionEntry) => AdmitAnswer | PromiseLike<AdmitAnswer>) | undefined>();
  });
});

describe('per-user credentials', () => {
  const base = {
    tokenEndpoint: 'https://as.example/token',
    clientId: 'relay',
    clientSecret: { secret: 'RELAY_CLIENT_SECRET' },
    subjectToken: (req: IncomingMessage) => req.headers.authorization?.slice('Bearer '.length),
  };

  test('tokenExchange takes TokenExchangeOptions and returns a CredentialSource', () => {
    expect<Parameters<typeof tokenExchange>[0]>().type.toBe<TokenExchangeOptions>();
    expect(tokenExchange(base)).type.toBe<CredentialSource>();
    expect<TokenExchangeOptions['clientSecret']>().type.toBe<TokenExchangeClientSecret>();
    expect(tokenExchange).type.toBeCallableWith({ ...base, resource: ['https://a.example/mcp'], clientAuthentication: 'client_secret_post' as const });
    expect(tokenExchange).type.not.toBeCallableWith({ ...base, clientAuthentication: 'private_key_jwt' as const });
    expect(tokenExchange).type.not.toBeCallableWith({ ...base, clientSecret: 'inline-secret' });
  });

  test('a credential source may answer a string, a ResolvedCredential or undefined, synchronously or not', () => {
    const source: CredentialSource = {
      description: 'vault',
      key: (req) => req.headers['x-user'] as string | undefined,
      resolve: (key) => Promise.resolve(key === 'alice' ? { value: 'Bearer a', expiresIn: 60 } : undefined),
    };
    expect(source).type.toBeAssignableTo<CredentialSource>();
    expect<ResolvedCredential>().type.toBe<{ readonly value: string; readonly expiresIn?: number }>();
    expect<ReturnType<CredentialSource['resolve']>>().type.toBeAssignableFrom<string>();
  });

  test('CredentialCacheOptions are durations and a bound', () => {
    expect<CredentialCacheOptions>().type.toBe<{ ttl?: number; timeout?: number; maxEntries?: number; negativeTtl?: number; failureTtl?: number }>();
  });
});
