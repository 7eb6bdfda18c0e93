/**
 * Catalogue group H (security.md §5), run-time side:
 *  H1 every run-time 4xx/5xx (one case per rejection reason the relay has) carries no sentinel value
 *     in its body, its response headers or any log line;
 *  H3 a relay in a child process with DEBUG=http-proxy-middleware* prints no sentinel;
 *  H4 lib/ never uses fetch/undici (whose errors quote header values); token exchange reaches them
 *     only through oauth4webapi, whose errors it never passes on.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import type { IncomingMessage } from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { captureHeaders, mcpProxy, type SessionOptions, type SessionStore } from '../../lib/index.js';
import { captureLogger } from '../helpers/capture-logger.js';
import { listen } from '../helpers/listen.js';
import { httpText, rawRequest, type RawResponse } from '../helpers/raw-http.js';
import type { Responder } from '../helpers/recording-backend.js';
import {
  SECRET_ENV_NAME,
  SENTINEL,
  SENTINEL_CLIENT_AUTH,
  SENTINEL_KEY,
  SENTINEL_SECRET,
  SENTINEL_TENANT,
  assertRefusal,
  assertNoLeak,
  wireValues,
  withRelay,
  type SecRelay,
  type SecRelayOptions,
  GATEWAY_NAMES,
} from '../helpers/sec-relay.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const STATIC_SENTINEL = `${SENTINEL}-plain-static`;

/** Sentinel-bearing headers sent with every H1 request, besides the case's own attack. */
const sentinelHeaders = [`X-Tenant: ${SENTINEL_TENANT}`, `Authorization: Bearer ${SENTINEL_CLIENT_AUTH}`, `Cookie: sid=${SENTINEL}-cookie`];

interface LeakCase {
  reason: string;
  /** Distinguishes two cases of the same reason in the test name. */
  label?: string;
  status: number;
  header?: string;
  options?: SecRelayOptions;
  /** Lines after Host (the default request is `GET /b`); or a full raw request. */
  lines?: string[];
  raw?: (port: number) => string | Buffer;
  before?: (env: Record<string, string>) => void;
  /** A log line must name this (for diagnosis), without any value. */
  logMentions?: string[];
}

/** Every reason in lib/rejection.ts's RejectReason union, read from the source. */
function rejectReasons(): string[] {
  const source = fs.readFileSync(path.join(root, 'lib/rejection.ts'), 'utf8');
  const union = /export type RejectReason =([^;]+);/.exec(source)?.[1] ?? '';
  return [...union.matchAll(/'([a-z_]+)'/g)].map((m) => m[1]!);
}

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The SDK's 404 for an unknown session, byte for byte: no `data`, so no reason for a prober to read. */
const SESSION_NOT_FOUND_BODY = '{"jsonrpc":"2.0","error":{"code":-32001,"message":"Session not found"},"id":null}';

/** Answers like an MCP server with sessions, minting ids that carry the sentinel (none may reach a log). */
const mintingBackend: Responder = (req, res) => {
  if (req.headers['mcp-session-id'] === undefined) res.setHeader('Mcp-Session-Id', `${SENTINEL}-sid-${randomUUID()}`);
  res.setHeader('content-type', 'application/json');
  res.end('{"jsonrpc":"2.0","result":{},"id":1}');
};

/** `pin`'s principal, from a header the relay never forwards; its values carry the sentinel too. */
const principalOf = (req: IncomingMessage): string | undefined => {
  const user = req.headers['x-user'];
  return typeof user === 'string' ? user : undefined;
};
const USER = `X-User: ${SENTINEL}-user-alice`;
const OTHER_USER = `X-User: ${SENTINEL}-user-mallory`;

/** A store whose every method fails with a message that carries the sentinel, synchronously or as a rejection. */
function brokenStore(how: 'throw' | 'reject'): SessionStore {
  const fail = (op: string): never => {
    throw new Error(`${SENTINEL}-store-${op} failed for redis://user:${SENTINEL}-password@store.example`);
  };
  const call = <T>(op: string): T => (how === 'throw' ? fail(op) : (Promise.reject(new Error(`${SENTINEL}-store-${op} rejected`)) as T));
  return { get: () => call('get'), set: () => call('set'), delete: () => call('delete'), size: () => call('size') };
}

/** An initialize through the relay: 200 and the backend's id. */
async function initialize(r: SecRelay, lines: string[]): Promise<string> {
  const res = await r.send(lines, { method: 'POST', body: '{}' });
  assert.equal(res.status, 200, res.raw.slice(0, 200));
  const id = res.headers['mcp-session-id'] ?? '';
  assert.ok(id.startsWith(`${SENTINEL}-sid-`));
  return id;
}

interface SessionLeakCase {
  reason: string;
  label: string;
  run(): Promise<void>;
}

describe('H: leakage of header and secret values (run time)', () => {
  const withSentinelStatic: SecRelayOptions = { plaintext: { 'X-Static': STATIC_SENTINEL } };
  const cases: LeakCase[] = [
    { reason: 'duplicate_header', status: 400, header: 'x-mcp-api-key', lines: [`X-Mcp-Api-Key: ${SENTINEL_KEY}`, `X-Mcp-Api-Key: ${SENTINEL}-k2`] },
    { reason: 'duplicate_header', status: 400, header: 'mcp-session-id', lines: [`Mcp-Session-Id: ${SENTINEL}-s1`, `Mcp-Session-Id: ${SENTINEL}-s2`] },
    {
      reason: 'invalid_header_value',
      status: 400,
      header: 'x-mcp-api-key',
      raw: () => Buffer.from(`GET /b HTTP/1.1\r\nHost: gw.test\r\nX-Mcp-Api-Key: ${SENTINEL_KEY}\xe9\r\n${sentinelHeaders.join('\r\n')}\r\n\r\n`, 'latin1'),
    },
    { reason: 'header_too_large', status: 431, header: 'x-mcp-api-key', lines: [`X-Mcp-Api-Key: ${SENTINEL_KEY}${'k'.repeat(9000)}`] },
    {
      reason: 'too_many_headers',
      status: 431,
      lines: [...Array.from({ length: 600 }, (_, i) => `X-Junk-${i}: ${SENTINEL}-${i}`), `X-Mcp-Api-Key: ${SENTINEL_KEY}`],
    },
    {
      reason: 'connection_nominates_forwarded_header',
      status: 400,
      header: 'x-mcp-api-key',
      lines: ['Connection: x-mcp-api-key', `X-Mcp-Api-Key: ${SENTINEL_KEY}`],
    },
    { reason: 'duplicate_host', status: 400, header: 'host', lines: [`Host: ${SENTINEL}-host.example`, `X-Mcp-Api-Key: ${SENTINEL_KEY}`] },
    {
      reason: 'absolute_form_target',
      status: 400,
      raw: () =>
        httpText(`GET http://${SENTINEL}-host.example/b?key=${SENTINEL}-query HTTP/1.1`, [
          'Host: gw.test',
          `X-Mcp-Api-Key: ${SENTINEL_KEY}`,
          ...sentinelHeaders,
        ]),
    },
    {
      reason: 'host_not_allowed',
      status: 403,
      header: 'host',
      raw: () => httpText('GET /b HTTP/1.1', [`Host: ${SENTINEL}-rebound.example:8080`, `X-Mcp-Api-Key: ${SENTINEL_KEY}`, ...sentinelHeaders]),
    },
    { reason: 'origin_not_allowed', status: 403, header: 'origin', lines: [`Origin: http://${SENTINEL}-rebound.example`, `X-Mcp-Api-Key: ${SENTINEL_KEY}`] },
    {
      reason: 'method_not_allowed',
      status: 405,
      label: 'TRACE, which a backend would reflect',
      raw: () => httpText('TRACE /b HTTP/1.1', ['Host: gw.test', `X-Mcp-Api-Key: ${SENTINEL_KEY}`, ...sentinelHeaders]),
    },
    {
      reason: 'invalid_request_target',
      status: 400,
      label: 'a dot-segment next to a sentinel in the path',
      raw: () =>
        httpText(`GET /b/../${SENTINEL}-admin?key=${SENTINEL}-query HTTP/1.1`, ['Host: gw.test', `X-Mcp-Api-Key: ${SENTINEL_KEY}`, ...sentinelHeaders]),
    },
    {
      reason: 'unexpected_body',
      status: 400,
      label: 'a GET whose body holds a sentinel',
      raw: () =>
        httpText(
          'GET /b HTTP/1.1',
          ['Host: gw.test', `X-Mcp-Api-Key: ${SENTINEL_KEY}`, ...sentinelHeaders, `Content-Length: ${SENTINEL.length + 5}`],
          `${SENTINEL}-body`,
        ),
    },
    {
      reason: 'secret_unavailable',
      status: 502,
      lines: [`X-Mcp-Api-Key: ${SENTINEL_KEY}`],
      label: 'secret removed at run time',
      before: (env) => delete env[SECRET_ENV_NAME],
      logMentions: ['x-backend-auth', SECRET_ENV_NAME],
    },
    {
      reason: 'secret_unavailable',
      status: 502,
      lines: [`X-Mcp-Api-Key: ${SENTINEL_KEY}`],
      label: 'secret rotated to a value with a control byte',
      before: (env) => (env[SECRET_ENV_NAME] = `${SENTINEL}-rotated\x01value`),
      logMentions: ['x-backend-auth', SECRET_ENV_NAME],
    },
    { reason: 'backend_timeout', status: 504, lines: [`X-Mcp-Api-Key: ${SENTINEL_KEY}`], options: { responseTimeout: 200, respond: () => {} } },
    {
      reason: 'computed_header_failed',
      status: 500,
      header: 'x-user-id',
      label: 'a computed value with CRLF and a sentinel',
      lines: [`X-Mcp-Api-Key: ${SENTINEL_KEY}`],
      options: { route: { headers: { fromRequest: { 'X-User-Id': () => `${SENTINEL}-user\r\nX-Evil: 1` } } } },
      logMentions: ['x-user-id'],
    },
    {
      reason: 'credential_unavailable',
      status: 502,
      header: 'x-backend-token',
      label: 'a credential source that throws an error carrying a sentinel',
      lines: [`X-Mcp-Api-Key: ${SENTINEL_KEY}`],
      options: {
        route: {
          headers: {
            fromCredential: {
              'X-Backend-Token': {
                description: 'a test source',
                key: () => 'user-1',
                resolve: () => {
                  throw new Error(`${SENTINEL}-resolver-error`);
                },
              },
            },
          },
        },
      },
      logMentions: ['x-backend-token', 'a test source'],
    },
    {
      reason: 'missing_required_header',
      status: 400,
      header: 'x-user-id',
      label: 'a required identity the request does not have',
      lines: [`X-Mcp-Api-Key: ${SENTINEL_KEY}`],
      options: { route: { headers: { fromRequest: { 'X-User-Id': () => undefined } }, required: ['x-user-id'] } },
    },
  ];

  for (const c of cases) {
    it(`H1: ${c.status} ${c.reason}${c.header ? ` (${c.header})` : ''}${c.label ? `, ${c.label}` : ''}: no sentinel value in the body, the response headers or the log`, async () => {
      await withRelay({ ...withSentinelStatic, ...c.options }, async (r) => {
        c.before?.(r.env);
        const res = c.raw ? await r.raw(c.raw(r.port)) : await r.send([...(c.lines ?? []), ...sentinelHeaders]);
        assertRefusal(res, r, c.status, c.reason, c.header, [SENTINEL_SECRET, STATIC_SENTINEL, SENTINEL_KEY]);
        assert.ok(r.logger.lines.length > 0, 'the rejection was logged');
        for (const word of c.logMentions ?? []) assert.ok(r.logger.text().includes(word), `log names ${word}`);
        if (c.status < 500) assert.equal(r.backend.requests.length, 0);
      });
    });
  }

  /** Values any session rejection might be tempted to show: captured, static, secret, ids, principals. */
  const sessionValues = [SENTINEL_SECRET, STATIC_SENTINEL, SENTINEL_KEY, SENTINEL_TENANT, SENTINEL_CLIENT_AUTH];

  /** The relay's 404: the SDK body exactly, nothing forwarded, no sentinel in the answer or the log. */
  const assertNotFound = (r: SecRelay, res: RawResponse, backendBefore: number, id: string): void => {
    assert.equal(res.status, 404);
    assert.match(res.headers['content-type'] ?? '', /^application\/json/);
    assert.equal(res.body, SESSION_NOT_FOUND_BODY);
    assert.equal(r.backend.requests.length, backendBefore);
    assertNoLeak(res, r, [...sessionValues, id]);
    const line = r.logger.lines.findLast((l) => (l.fields as { reason?: string }).reason === 'session_not_found');
    assert.ok(line, 'the rejection was logged');
    assert.match(String((line.fields as { session?: unknown }).session), /^[0-9a-f]{12}$/, 'the id is logged as a keyed tag only');
  };

  /** The two session modes that keep sessions: bind, and pin keyed by the X-User principal. */
  const MODES: [string, SessionOptions][] = [
    ['bind', 'bind'],
    ['pin', { mode: 'pin', principal: principalOf }],
  ];

  const sessionCases: SessionLeakCase[] = [
    ...MODES.flatMap(([mode, session]) =>
      (
        [
          ['a space', `${SENTINEL}-session id`],
          ['257 characters', `${SENTINEL}-${'i'.repeat(257)}`],
        ] as const
      ).map(([what, id]): SessionLeakCase => ({
        reason: 'invalid_session_id',
        label: `${what} in the id (${mode})`,
        run: () =>
          withRelay({ ...withSentinelStatic, session, respond: mintingBackend }, async (r) => {
            const res = await r.send([`X-Mcp-Api-Key: ${SENTINEL_KEY}`, USER, `Mcp-Session-Id: ${id}`, ...sentinelHeaders]);
            assertRefusal(res, r, 400, 'invalid_session_id', 'mcp-session-id', [...sessionValues, id]);
            assert.equal(r.backend.requests.length, 0);
          }),
      })),
    ),
    {
      reason: 'session_not_found',
      label: 'an unknown id that carries the sentinel',
      run: async () => {
        await withRelay({ ...withSentinelStatic, session: 'bind', respond: mintingBackend }, async (r) => {
          const id = `${SENTINEL}-unknown-session-${randomUUID()}`;
          assertNotFound(r, await r.send([`X-Mcp-Api-Key: ${SENTINEL_KEY}`, `Mcp-Session-Id: ${id}`, ...sentinelHeaders]), 0, id);
        });
      },
    },
    {
      reason: 'session_not_found',
      label: 'a mismatch: other captured values (bind)',
      run: async () => {
        await withRelay({ ...withSentinelStatic, session: 'bind', respond: mintingBackend }, async (r) => {
          const id = await initialize(r, [`X-Mcp-Api-Key: ${SENTINEL_KEY}`, `X-Tenant: ${SENTINEL_TENANT}`]);
          const res = await r.send([`X-Mcp-Api-Key: ${SENTINEL}-other-key`, `Mcp-Session-Id: ${id}`, ...sentinelHeaders]);
          assertNotFound(r, res, 1, id);
          assertNoLeak(res, r, [`${SENTINEL}-other-key`]);
        });
      },
    },
    ...(
      [
        ['another principal', [OTHER_USER]],
        ['the same principal with other captured values', [USER, `X-Mcp-Api-Key: ${SENTINEL}-other-key`]],
      ] as const
    ).map(([what, lines]): SessionLeakCase => ({
      reason: 'session_not_found',
      label: `a mismatch: ${what} (pin)`,
      run: () =>
        withRelay({ ...withSentinelStatic, session: { mode: 'pin', principal: principalOf }, respond: mintingBackend }, async (r) => {
          const id = await initialize(r, [USER, `X-Mcp-Api-Key: ${SENTINEL_KEY}`, `X-Tenant: ${SENTINEL_TENANT}`]);
          assertNotFound(r, await r.send([...lines, `Mcp-Session-Id: ${id}`, ...sentinelHeaders]), 1, id);
        }),
    })),
    ...(
      [
        ['maxSessions (bind)', { mode: 'bind', maxSessions: 1, sessionKey: randomBytes(32) }],
        ['maxSessionsPerPrincipal (pin)', { mode: 'pin', principal: principalOf, maxSessionsPerPrincipal: 1 }],
      ] as const
    ).map(([what, session]): SessionLeakCase => ({
      reason: 'session_limit',
      label: `${what} reached`,
      run: () =>
        withRelay({ ...withSentinelStatic, session, respond: mintingBackend }, async (r) => {
          const id = await initialize(r, [USER, `X-Mcp-Api-Key: ${SENTINEL_KEY}`]);
          const res = await r.send([USER, `X-Mcp-Api-Key: ${SENTINEL_KEY}`, ...sentinelHeaders], { method: 'POST', body: '{}' });
          assertRefusal(res, r, 503, 'session_limit', undefined, [...sessionValues, id]);
          assert.match(res.headers['retry-after'] ?? '', /^[1-9][0-9]*$/);
          assert.equal(r.backend.requests.length, 1);
        }),
    })),
    ...MODES.map(([mode, session]): SessionLeakCase => ({
      reason: 'unsupported_transport',
      label: `an HTTP+SSE (2024-11-05) POST whose sessionId holds a sentinel (${mode})`,
      run: () =>
        withRelay({ ...withSentinelStatic, session, respond: mintingBackend }, async (r) => {
          const id = `${SENTINEL}-legacy-${randomUUID()}`;
          const res = await r.send([USER, `X-Mcp-Api-Key: ${SENTINEL_KEY}`, ...sentinelHeaders], {
            method: 'POST',
            path: `/b/messages?sessionId=${id}`,
            body: '{}',
          });
          assertRefusal(res, r, 400, 'unsupported_transport', undefined, [...sessionValues, id]);
          assert.equal(r.backend.requests.length, 0);
        }),
    })),
    ...(['throw', 'reject'] as const).flatMap((how) =>
      (
        [
          ['a new session', []],
          ['a known-looking session id', [`Mcp-Session-Id: ${SENTINEL}-sid-${randomUUID()}`]],
        ] as const
      ).map(([what, lines]): SessionLeakCase => ({
        reason: 'session_store_unavailable',
        label: `a store that ${how}s with the sentinel in its error message, for ${what}`,
        run: () =>
          withRelay(
            { ...withSentinelStatic, session: { mode: 'bind', store: brokenStore(how), sessionKey: randomBytes(32) }, respond: mintingBackend },
            async (r) => {
              const res = await r.send([`X-Mcp-Api-Key: ${SENTINEL_KEY}`, ...lines, ...sentinelHeaders], { method: 'POST', body: '{}' });
              assertRefusal(res, r, 503, 'session_store_unavailable', undefined, [...sessionValues, 'redis://', 'store.example']);
              assert.equal(r.backend.requests.length, 0);
              const logged = r.logger.lines.filter((l) => (l.fields as { reason?: string }).reason === 'session_store_unavailable');
              assert.ok(logged.length >= 1, 'the store failure was logged (operation names only)');
            },
          ),
      })),
    ),
  ];

  for (const c of sessionCases) {
    it(`H1: ${c.reason}, ${c.label}: no sentinel value in the body, the response headers or the log`, () => c.run());
  }

  it('H1: 502 backend_unreachable (closed port): no sentinel in the body, the response headers or the log', async () => {
    const port = await closedPort();
    await withRelay({ ...withSentinelStatic, target: `http://127.0.0.1:${port}/mcp` }, async (r) => {
      const res = await r.send([`X-Mcp-Api-Key: ${SENTINEL_KEY}`, ...sentinelHeaders]);
      assertRefusal(res, r, 502, 'backend_unreachable');
      assert.ok(r.logger.lines.length > 0);
    });
  });

  it('H1: 502 backend_bad_response (backend answers garbage): no sentinel in the body, the response headers or the log', async () => {
    const garbage = net.createServer((socket) => {
      socket.once('data', () => socket.end('NOT-HTTP garbage\r\n\r\n'));
    });
    await new Promise<void>((resolve) => garbage.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = garbage.address() as AddressInfo;
      await withRelay({ ...withSentinelStatic, target: `http://127.0.0.1:${port}/mcp` }, async (r) => {
        const res = await r.send([`X-Mcp-Api-Key: ${SENTINEL_KEY}`, ...sentinelHeaders]);
        assertRefusal(res, r, 502, 'backend_bad_response');
      });
    } finally {
      await new Promise<void>((resolve) => garbage.close(() => resolve()));
    }
  });

  it('H1: 502 backend_tls_failed (an https: target that speaks plain HTTP): no sentinel in the body, the response headers or the log', async () => {
    const plain = net.createServer((socket) => {
      socket.once('data', () => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
    });
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = plain.address() as AddressInfo;
      await withRelay({ ...withSentinelStatic, target: `https://127.0.0.1:${port}/mcp` }, async (r) => {
        const res = await r.send([`X-Mcp-Api-Key: ${SENTINEL_KEY}`, ...sentinelHeaders]);
        assertRefusal(res, r, 502, 'backend_tls_failed');
      });
    } finally {
      await new Promise<void>((resolve) => plain.close(() => resolve()));
    }
  });

  it('H1: 500 internal_error (a body parser consumed a body the relay cannot rebuild): no sentinel anywhere', async () => {
    const logger = captureLogger();
    const backend = await listen((_req, res) => res.end('{}'));
    const app = express();
    app.use(captureHeaders({ allow: ['x-mcp-api-key'], logger }));
    app.use(express.json({ type: () => true })); // parses a text/plain body into an object
    app.use('/b', mcpProxy({ ...GATEWAY_NAMES, target: `${backend.url}/mcp`, headers: { plaintext: { 'X-Static': STATIC_SENTINEL } }, logger }));
    const gateway = await listen(app);
    try {
      const body = JSON.stringify({ token: `${SENTINEL}-body` });
      const res = await rawRequest(
        gateway.port,
        httpText(
          'POST /b HTTP/1.1',
          ['Host: gw.test', 'Content-Type: text/plain', `Content-Length: ${body.length}`, `X-Mcp-Api-Key: ${SENTINEL_KEY}`, ...sentinelHeaders],
          body,
        ),
      );
      assertRefusal(res, { logger, startupLines: [] }, 500, 'internal_error');
    } finally {
      await gateway.close();
      await backend.close();
    }
  });

  it('H1: 503 route_closed (a request after route.close()): no sentinel anywhere', async () => {
    const logger = captureLogger();
    const backend = await listen((_req, res) => res.end('{}'));
    const app = express();
    app.use(captureHeaders({ allow: ['x-mcp-api-key'], logger }));
    const route = mcpProxy({ ...GATEWAY_NAMES, target: `${backend.url}/mcp`, headers: { plaintext: { 'X-Static': STATIC_SENTINEL } }, logger });
    app.use('/b', route);
    const gateway = await listen(app);
    try {
      await route.close({ grace: 0 });
      const res = await rawRequest(
        gateway.port,
        httpText(
          'POST /b HTTP/1.1',
          ['Host: gw.test', 'Content-Type: application/json', 'Content-Length: 2', `X-Mcp-Api-Key: ${SENTINEL_KEY}`, ...sentinelHeaders],
          '{}',
        ),
      );
      assertRefusal(res, { logger, startupLines: [] }, 503, 'route_closed');
    } finally {
      await gateway.close();
      await backend.close();
    }
  });

  it('H1: the cases above cover every rejection reason lib/rejection.ts declares', () => {
    const covered = new Set([
      ...cases.map((c) => c.reason),
      ...sessionCases.map((c) => c.reason),
      'backend_unreachable',
      'backend_bad_response',
      'backend_tls_failed',
      'internal_error',
      'route_closed',
    ]);
    const declared = rejectReasons();
    assert.ok(declared.length >= 10, `parsed RejectReason: ${declared.join(', ')}`);
    assert.deepEqual(
      declared.filter((r) => !covered.has(r)),
      [],
      'a rejection reason without a leak test',
    );
  });

  it('H1: a backend that echoes the secret-backed header in its response does not hand it to the client', async () => {
    await withRelay(
      {
        respond: (req, res) => {
          res.setHeader('X-Backend-Auth', String(req.headers['x-backend-auth']));
          res.setHeader('content-type', 'application/json');
          res.end('{"ok":true}');
        },
      },
      async (r) => {
        const res = await r.send([`X-Mcp-Api-Key: ${SENTINEL_KEY}`]);
        assert.equal(res.status, 200);
        assert.deepEqual(wireValues(r.backend.last(), 'x-backend-auth'), [SENTINEL_SECRET], 'precondition: the backend got the secret');
        assert.equal(res.headers['x-backend-auth'], undefined);
        assertNoLeak(res, r);
      },
    );
  });

  it('H3: a relay run with DEBUG=http-proxy-middleware* and the default console logger prints no sentinel', { timeout: 60_000 }, async () => {
    const fixture = path.join(root, 'test/security/fixtures/debug-relay.ts');
    const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
      cwd: root,
      env: {
        ...process.env,
        DEBUG: 'http-proxy-middleware*',
        SOME_ENV_NAME: SENTINEL_SECRET,
        GONE_SECRET: `${SENTINEL}-gone-secret`,
        STATIC_VALUE: STATIC_SENTINEL,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const port = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`child not ready in 30 s: ${stdout}${stderr}`)), 30_000);
        const check = (): void => {
          const m = /READY (\d+)/.exec(stdout);
          if (m) {
            clearTimeout(timer);
            resolve(Number(m[1]));
          }
        };
        child.stdout.on('data', check);
        child.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`child exited (${code}) before ready: ${stdout}${stderr}`));
        });
      });
      const send = (line: string, lines: string[], body = ''): Promise<RawResponse> =>
        rawRequest(port, httpText(line, ['Host: gw.test', ...lines, ...(body ? [`Content-Length: ${body.length}`] : [])], body));
      const key = `X-Mcp-Api-Key: ${SENTINEL_KEY}`;
      const statuses: Record<string, number> = {
        forwarded: (await send('GET /b HTTP/1.1', [key, ...sentinelHeaders])).status,
        // Control: one more request, so hpm's per-request debug lines are counted below.
        control: (await send('GET /b?probe=CANARY-URL-7c1 HTTP/1.1', [])).status,
        post: (await send('POST /b HTTP/1.1', [key, 'Content-Type: application/json', ...sentinelHeaders], '{"jsonrpc":"2.0","method":"ping","id":1}')).status,
        expect: (await send('POST /b HTTP/1.1', [key, 'Expect: 100-continue', 'Content-Type: application/json'], '{}')).status,
        duplicate: (await send('GET /b HTTP/1.1', [key, `X-Mcp-Api-Key: ${SENTINEL}-k2`, ...sentinelHeaders])).status,
        connection: (await send('GET /b HTTP/1.1', ['Connection: x-tenant', key, ...sentinelHeaders])).status,
        absolute: (await send(`GET http://${SENTINEL}-host/b?key=${SENTINEL}-q HTTP/1.1`, [key])).status,
        timeout: (await send('GET /slow HTTP/1.1', [key, ...sentinelHeaders])).status,
        unreachable: (await send('GET /down HTTP/1.1', [key, ...sentinelHeaders])).status,
        secretGone: (await send('GET /gone HTTP/1.1', [key, ...sentinelHeaders])).status,
      };
      assert.deepEqual(statuses, {
        forwarded: 200,
        control: 200,
        post: 200,
        expect: 200,
        duplicate: 400,
        connection: 400,
        absolute: 400,
        timeout: 504,
        unreachable: 502,
        secretGone: 502,
      });
    } finally {
      child.stdin.end();
      const timer = setTimeout(() => child.kill(), 10_000);
      await exited;
      clearTimeout(timer);
    }
    const output = `${stdout}\n${stderr}`;
    // The run was really instrumented: hpm's debug output and the relay's console warnings are there.
    assert.match(stderr, /http-proxy-middleware/, 'DEBUG output present');
    // Per-request debug output was on: hpm logs each request it proxies (the relay sets the upstream
    // path itself, so hpm never sees, and cannot print, the client's query).
    const perRequest = stderr.match(/proxy request to target/g)?.length ?? 0;
    assert.ok(perRequest >= 4, `per-request debug output captured (${perRequest} lines)`);
    assert.doesNotMatch(stderr, /CANARY-URL-7c1/, 'the client query is not in the debug output');
    // One JSON object per line, naming the route.
    const relayLines = output.split('\n').filter((line) => line.startsWith('{"level":'));
    const reasons = relayLines.map((line) => JSON.parse(line) as { name?: string; route?: string; reason?: string });
    assert.ok(
      reasons.some(
        (l) => l.name === 'mcp-header-relay' && typeof l.route === 'string' && /backend_timeout|backend_unreachable|secret_unavailable/.test(l.reason ?? ''),
      ),
      'relay console warnings present',
    );
    assert.match(output, /GONE_SECRET/, 'the missing secret is named');
    const at = output.indexOf(SENTINEL);
    assert.equal(at, -1, `sentinel in child output: …${output.slice(Math.max(0, at - 200), at + 100)}…`);
  });

  it('H4: lib/ never uses fetch or undici (their errors quote header values)', () => {
    const dir = path.join(root, 'lib');
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.ts'));
    assert.ok(files.includes('proxy.ts') && files.includes('capture.ts'), `lib sources found: ${files.join(', ')}`);
    const forbidden = [/\bfetch\s*\(/, /\bundici\b/, /\bnew\s+(Headers|Request|Response)\s*\(/, /\bglobalThis\.fetch\b/];
    // The patterns do catch what they are meant to.
    for (const [sample, pattern] of [
      ['await fetch(url)', 0],
      ["import { request } from 'undici'", 1],
      ['new Headers(h)', 2],
    ] as const) {
      assert.ok(forbidden[pattern]!.test(sample), sample);
    }
    const allowedImports = /^(node:[a-z_/]+|http-proxy-middleware|zod|\.{1,2}\/.+\.js)$/;
    // The one exception: token exchange talks to an authorization server through oauth4webapi (fetch).
    // Its errors never pass on: explain() turns each into a value-free CredentialResolveError, without
    // message or cause, and test/integration/token-exchange.test.ts checks no token or secret leaks.
    const exceptions: Record<string, RegExp> = { 'token-exchange.ts': /^oauth4webapi$/ };
    // Type-only imports are erased from the build: they load nothing.
    const typeOnly = /\bimport\s+type\b[^;]*?\bfrom\s+'([^']+)'/g;
    for (const file of files) {
      const code = fs
        .readFileSync(path.join(dir, file), 'utf8')
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .replace(/^\s*\/\/.*$/gm, '')
        .replace(typeOnly, '');
      for (const pattern of forbidden) assert.ok(!pattern.test(code), `lib/${file} matches ${pattern}`);
      for (const m of code.matchAll(/\bfrom\s+'([^']+)'|\bimport\s*\(\s*'([^']+)'\s*\)|\brequire\s*\(\s*'([^']+)'\s*\)/g)) {
        const spec = m[1] ?? m[2] ?? m[3] ?? '';
        if (exceptions[file]?.test(spec)) continue;
        assert.match(spec, allowedImports, `lib/${file} imports ${spec}`);
      }
    }
  });
});
