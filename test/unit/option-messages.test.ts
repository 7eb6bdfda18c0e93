/**
 * What each option of the wrong type or shape is told, word for word (the schemas of
 * lib/option-shapes.ts): the message is the whole of what a user sees, so it says what the option
 * takes, with an example. One row per option with a message of its own; the limits of the numeric
 * options at their edges; and the values each check accepts.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { describe, it } from 'node:test';
import { captureHeaders, envSecrets, mcpProxy, tokenExchange } from '../../lib/index.js';
import { captureLogger } from '../helpers/capture-logger.js';
import { expectConfigError } from '../helpers/config-errors.js';

const TARGET = 'https://127.0.0.1:9/mcp';
const proxy = (extra: Record<string, unknown>) => () => mcpProxy({ target: TARGET, logger: captureLogger(), ...extra });
const capture = (extra: Record<string, unknown>) => () => captureHeaders({ allow: ['x-a'], logger: captureLogger(), ...extra });
const exchange = (extra: Record<string, unknown>) => () =>
  tokenExchange({
    tokenEndpoint: 'https://as.example/token',
    clientId: 'relay',
    clientSecret: { secret: 'S', secrets: envSecrets({ S: 'client-secret' }) },
    subjectToken: () => 'subject',
    logger: captureLogger(),
    ...extra,
  });
const MS_FROM_1 = 'must be whole milliseconds, an integer from 1 to 2147483647';
const MS_FROM_0 = 'must be whole milliseconds, an integer from 0 to 2147483647';
const ROUTE_NAME = "must be 1 to 64 visible ASCII characters without spaces, e.g. 'github'";
const KEY = 'k'.repeat(32);

const refused: [string, () => unknown, string, string][] = [
  ['captureHeaders logger', capture({ logger: { info() {} } }), 'logger', 'must be a logger with warn() and error() methods (console and pino qualify)'],
  ...(['plaintext', 'fromSecret', 'fromCaptured', 'template'] as const).map((map): [string, () => unknown, string, string] => [
    `headers.${map}`,
    proxy({ headers: { [map]: 'X-A: v' } }),
    `headers.${map}`,
    'must be an object of header name -> string',
  ]),
  ['headers.plaintext as a Map', proxy({ headers: { plaintext: new Map([['X-A', 'v']]) } }), 'headers.plaintext', 'must be an object of header name -> string'],
  [
    'headers.fromRequest',
    proxy({ headers: { fromRequest: () => 'v' } }),
    'headers.fromRequest',
    'must be an object of header name -> function (req) => string | undefined',
  ],
  [
    'headers.fromCredential',
    proxy({ headers: { fromCredential: 'Bearer t' } }),
    'headers.fromCredential',
    'must be an object of header name -> credential source, e.g. tokenExchange({ ... })',
  ],
  ...(
    [
      ['without key()', { resolve: () => 't', description: 'issuer' }],
      ['without resolve()', { key: () => 'k', description: 'issuer' }],
      ['without a description', { key: () => 'k', resolve: () => 't' }],
      ['with a description that is not text', { key: () => 'k', resolve: () => 't', description: 7 }],
    ] as const
  ).map(([what, source]): [string, () => unknown, string, string] => [
    `a credential source ${what}`,
    proxy({ headers: { fromCredential: { 'X-T': source } } }),
    'headers.fromCredential["X-T"]',
    'must be a credential source with key(), resolve() and description, such as tokenExchange({ ... }), or { source, cache }',
  ]),
  ['secrets', proxy({ secrets: { read: () => 'v' } }), 'secrets', 'must be a secret provider such as envSecrets() or fileSecrets(dir)'],
  ['name of another type', proxy({ name: 7 }), 'name', ROUTE_NAME],
  ['name with a space', proxy({ name: 'git hub' }), 'name', ROUTE_NAME],
  ['name with a space at the end', proxy({ name: 'github ' }), 'name', ROUTE_NAME],
  ['name with a space at the start', proxy({ name: ' github' }), 'name', ROUTE_NAME],
  [
    'principal',
    proxy({ principal: 'alice' }),
    'principal',
    'must be a function (req) => string | undefined naming the authenticated caller, e.g. (req) => req.user?.id',
  ],
  ['audit', proxy({ audit: true }), 'audit', 'must be a function (event) => void'],
  ['metrics', proxy({ metrics: { observe() {} } }), 'metrics', 'must be the metrics object relayMetrics() of mcp-header-relay/metrics returns'],
  ['metrics of another type', proxy({ metrics: () => ({}) }), 'metrics', 'must be the metrics object relayMetrics() of mcp-header-relay/metrics returns'],
  ['agent', proxy({ agent: { keepAlive: true } }), 'agent', 'must be an http.Agent or https.Agent (node:http, node:https) or a subclass of one'],
  ['connectTimeout of 0', proxy({ connectTimeout: 0 }), 'connectTimeout', MS_FROM_1],
  ['connectTimeout of 1.5', proxy({ connectTimeout: 1.5 }), 'connectTimeout', MS_FROM_1],
  ['connectTimeout of 2^31', proxy({ connectTimeout: 2 ** 31 }), 'connectTimeout', MS_FROM_1],
  ['responseTimeout as text', proxy({ responseTimeout: '5m' }), 'responseTimeout', MS_FROM_1],
  ['health.cacheTtl below 0', proxy({ health: { cacheTtl: -1 } }), 'health.cacheTtl', MS_FROM_0],
  ['tls.ca', proxy({ tls: { ca: 5 } }), 'tls.ca', "must be PEM certificates: a string, a Buffer or a list of them, e.g. fs.readFileSync('ca.pem')"],
  [
    'tls.cert',
    proxy({ tls: { cert: 5, key: 'k' } }),
    'tls.cert',
    "must be the client certificate as PEM text, a string or a Buffer, e.g. fs.readFileSync('client.crt')",
  ],
  [
    'tls.key',
    proxy({ tls: { cert: 'c', key: 5 } }),
    'tls.key',
    "must be the private key as PEM text, a string or a Buffer, e.g. fs.readFileSync('client.key')",
  ],
  ['tls.passphrase', proxy({ tls: { passphrase: 5 } }), 'tls.passphrase', 'must be a string'],
  ['tls.servername', proxy({ tls: { servername: 5 } }), 'tls.servername', "must be a DNS name, e.g. 'mcp.internal.example'"],
  [
    'session.store',
    proxy({ session: { mode: 'bind', store: { get() {}, set() {}, delete() {} }, sessionKey: KEY } }),
    'session.store',
    'must be a session store with get(), set(), delete() and size() (and, optionally, admit()), e.g. memorySessionStore()',
  ],
  [
    'session.sessionKey of 31 bytes',
    proxy({ session: { mode: 'bind', sessionKey: 'k'.repeat(31) } }),
    'session.sessionKey',
    'must be a string or Uint8Array of at least 32 bytes, e.g. crypto.randomBytes(32)',
  ],
  [
    'session.sessionKey of another type',
    proxy({ session: { mode: 'bind', sessionKey: 32 } }),
    'session.sessionKey',
    'must be a string or Uint8Array of at least 32 bytes, e.g. crypto.randomBytes(32)',
  ],
  [
    'bind session.principal',
    proxy({ session: { mode: 'bind', principal: 'alice' } }),
    'session.principal',
    'must be a function (req) => string | undefined naming the authenticated caller, e.g. (req) => req.user?.id',
  ],
  ['tokenExchange tokenEndpoint', exchange({ tokenEndpoint: 443 }), 'tokenEndpoint', 'must be the token endpoint URL, a string or a URL'],
  ['tokenExchange clientId with a line break', exchange({ clientId: 'relay\nx' }), 'clientId', 'clientId must be 1-2048 visible ASCII characters or spaces'],
  ['tokenExchange clientId empty', exchange({ clientId: '' }), 'clientId', 'clientId must be 1-2048 visible ASCII characters or spaces'],
  [
    'tokenExchange clientId over 2048 characters',
    exchange({ clientId: 'c'.repeat(2049) }),
    'clientId',
    'clientId must be 1-2048 visible ASCII characters or spaces',
  ],
  ['tokenExchange audience with a tab', exchange({ audience: 'a\tb' }), 'audience', 'audience must be 1-2048 visible ASCII characters or spaces'],
  [
    'tokenExchange clientSecret inline',
    exchange({ clientSecret: 'client-secret' }),
    'clientSecret',
    'must be { secret: "NAME" } (and optionally secrets: a secret provider); the secret itself is never inline',
  ],
  [
    'tokenExchange clientSecret.secret',
    exchange({ clientSecret: { secret: 5 } }),
    'clientSecret.secret',
    'must be the name of the secret, e.g. "RELAY_CLIENT_SECRET"',
  ],
  [
    'tokenExchange clientAuthentication',
    exchange({ clientAuthentication: 'private_key_jwt' }),
    'clientAuthentication',
    'Invalid option: expected one of "client_secret_basic"|"client_secret_post"',
  ],
  [
    'tokenExchange subjectToken',
    exchange({ subjectToken: 'Bearer x' }),
    'subjectToken',
    "must be a function (req) => string | undefined returning the caller's token",
  ],
  [
    'tokenExchange subjectTokenType with a space',
    exchange({ subjectTokenType: 'urn:x a' }),
    'subjectTokenType',
    'subjectTokenType must be 1-2048 visible ASCII characters, no spaces',
  ],
  [
    'tokenExchange requestedTokenType empty',
    exchange({ requestedTokenType: '' }),
    'requestedTokenType',
    'requestedTokenType must be 1-2048 visible ASCII characters, no spaces',
  ],
  ['tokenExchange resource list empty (zod words this one)', exchange({ resource: [] }), 'resource', 'Too small: expected array to have >=1 items'],
  [
    'tokenExchange resource list of 17',
    exchange({ resource: Array.from({ length: 17 }, (_, i) => `https://r${i}.example`) }),
    'resource',
    'must be an absolute URI or a list of 1-16 of them',
  ],
  ['tokenExchange resource of another type', exchange({ resource: 5 }), 'resource', 'must be an absolute URI or a list of 1-16 of them'],
  ...['a  b', ' a', 'a ', 'a"b', 'a\\b', ''].map((scope): [string, () => unknown, string, string] => [
    `tokenExchange scope ${JSON.stringify(scope)}`,
    exchange({ scope }),
    'scope',
    'scope must be scope tokens separated by single spaces (RFC 6749 §3.3)',
  ]),
  ['tokenExchange format', exchange({ format: 'Bearer {token}' }), 'format', 'must be a function (accessToken) => header value'],
  ['tokenExchange key', exchange({ key: 'user' }), 'key', 'must be a function (req) => string | undefined returning the cache key'],
];

describe('option messages, word for word', () => {
  for (const [name, build, path, rule] of refused) {
    it(`${name}: ${path}`, () => assert.equal(expectConfigError(build, 'ERR_INVALID_OPTION', path).rule, rule));
  }
});

describe('values the checks accept', () => {
  const accepted: [string, () => unknown][] = [
    ['a route name of 64 visible characters', proxy({ name: '!'.repeat(64) })],
    ['timeouts of 1 ms and of 2^31 - 1 ms', proxy({ connectTimeout: 1, responseTimeout: 2 ** 31 - 1 })],
    ['health.cacheTtl of 0', proxy({ health: { cacheTtl: 0 } })],
    ['an audit function', proxy({ audit: () => {} })],
    ['a credential source', proxy({ headers: { fromCredential: { 'X-T': { key: () => 'k', resolve: () => 't', description: 'issuer' } } } })],
    ['a metrics object with observeRoute()', proxy({ metrics: { observeRoute: () => ({}) } })],
    ['an http.Agent subclass', () => mcpProxy({ target: 'http://127.0.0.1:9/mcp', agent: new (class extends http.Agent {})(), logger: captureLogger() })],
    ['a 32-byte Uint8Array session key', proxy({ session: { mode: 'bind', sessionKey: new Uint8Array(32) } })],
    [
      'tokenExchange with both client authentications, a resource list of 16, scopes, URIs and functions',
      exchange({ clientAuthentication: 'client_secret_post' }),
    ],
    ['tokenExchange with client_secret_basic', exchange({ clientAuthentication: 'client_secret_basic' })],
    [
      'tokenExchange with a resource list of 16, scopes, token type URIs, an audience with spaces, a 2048-character clientId and functions',
      exchange({
        resource: Array.from({ length: 16 }, (_, i) => `https://r${i}.example`),
        scope: 'read write:all a!#[]~',
        subjectTokenType: 'urn:ietf:params:oauth:token-type:jwt',
        requestedTokenType: 'urn:ietf:params:oauth:token-type:access_token',
        audience: 'an audience with spaces',
        clientId: 'c'.repeat(2048),
        format: (token: string) => `Bearer ${token}`,
        key: () => 'k',
      }),
    ],
    ['a resource given as one URI', exchange({ resource: 'https://r.example' })],
  ];
  for (const [name, build] of accepted) it(name, () => assert.doesNotThrow(build));
});
