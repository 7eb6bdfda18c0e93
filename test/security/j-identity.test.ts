/**
 * Catalogue group J (issue 11): identity and per-backend credentials the route computes itself:
 * `headers.fromRequest` (J1, J4), `headers.fromCaptured` (J2, J10), `headers.template` (J3),
 * `required` (J5), `audit` (J6), how sessions treat them (J7), and their configuration rules (J8).
 * Each case tries to break the rule: a forged copy, a second credential, CR/LF through every input,
 * a failing function, a swapped token mid-session.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import { describe, it } from 'node:test';
import { mcpProxy, type CredentialAuditEvent } from '../../lib/index.js';
import { expectConfigError } from '../helpers/config-errors.js';
import { McpLike } from '../helpers/i-sessions.js';
import { assertForwarded, assertRelay404, call, open } from '../helpers/session-requests.js';
import {
  SENTINEL,
  SENTINEL_CLIENT_AUTH,
  SENTINEL_KEY,
  SENTINEL_SECRET,
  assertNoLeak,
  assertRefusal,
  wireValues,
  withRelay,
  type RouteIdentity,
} from '../helpers/sec-relay.js';

const KEY = `X-Mcp-Api-Key: ${SENTINEL_KEY}`;
const USER_ID = `${SENTINEL}-user-alice`;
const UPSTREAM_TOKEN = `Bearer ${SENTINEL}-backend-token-9c1e`;
const TARGET = 'http://127.0.0.1:9/mcp';

/** The host app's auth result, as a header only the test's middleware sets: the principal. */
const userOf = (req: http.IncomingMessage): string | undefined => {
  const user = req.headers['x-test-user'];
  return typeof user === 'string' ? user : undefined;
};

/** A credential source of the right shape (never called: the tests using it only construct a route). */
const credentialSource = () => ({ description: 'the test issuer', key: () => 'user-1', resolve: () => 'Bearer t' });

describe('J: identity headers, renaming, templates, required headers and audit', () => {
  describe('J1: a computed header cannot be forged by the client', () => {
    const route: RouteIdentity = { headers: { fromRequest: { 'X-User-Id': (req) => userOf(req) } } };

    it('J1: the client sends X-User-Id (and allow captures it): the backend gets the computed value only', async () => {
      await withRelay({ allow: ['x-mcp-api-key', 'x-user-id'], route }, async (r) => {
        const res = await r.send([KEY, 'X-User-Id: forged-admin', `X-Test-User: ${USER_ID}`]);
        assert.equal(res.status, 200);
        assert.deepEqual(wireValues(r.backend.last(), 'x-user-id'), [USER_ID]);
      });
    });

    it('J1: no principal: no X-User-Id at all, and still not the forged copy', async () => {
      await withRelay({ allow: ['x-mcp-api-key', 'x-user-id'], route }, async (r) => {
        const res = await r.send([KEY, 'X-User-Id: forged-admin']);
        assert.equal(res.status, 200);
        assert.deepEqual(wireValues(r.backend.last(), 'x-user-id'), []);
      });
    });

    it('J1: an async function: the resolved value goes out', async () => {
      const asyncRoute: RouteIdentity = { headers: { fromRequest: { 'X-User-Id': (req) => Promise.resolve(userOf(req)) } } };
      await withRelay({ route: asyncRoute }, async (r) => {
        const res = await r.send([KEY, `X-Test-User: ${USER_ID}`]);
        assert.equal(res.status, 200);
        assert.deepEqual(wireValues(r.backend.last(), 'x-user-id'), [USER_ID]);
      });
    });
  });

  describe('J2: a renamed credential goes out once, under its new name', () => {
    const route: RouteIdentity = { headers: { fromCaptured: { Authorization: 'x-upstream-authorization' } } };
    const allow = ['x-mcp-api-key', 'x-upstream-authorization'];

    it("J2: the backend gets Authorization = the renamed value, never the client's own Authorization, never x-upstream-authorization", async () => {
      await withRelay({ allow, route }, async (r) => {
        const res = await r.send([KEY, `X-Upstream-Authorization: ${UPSTREAM_TOKEN}`, `Authorization: Bearer ${SENTINEL_CLIENT_AUTH}`]);
        assert.equal(res.status, 200);
        const got = r.backend.last();
        assert.deepEqual(wireValues(got, 'authorization'), [UPSTREAM_TOKEN]);
        assert.deepEqual(wireValues(got, 'x-upstream-authorization'), []);
        assertNoLeak(undefined, r, [UPSTREAM_TOKEN, SENTINEL_CLIENT_AUTH]);
      });
    });

    it("J2: without the renamed source, no Authorization goes out: the client's own is not a fallback", async () => {
      await withRelay({ allow, route }, async (r) => {
        const res = await r.send([KEY, `Authorization: Bearer ${SENTINEL_CLIENT_AUTH}`]);
        assert.equal(res.status, 200);
        assert.deepEqual(wireValues(r.backend.last(), 'authorization'), []);
      });
    });

    it('J2: two X-Upstream-Authorization lines: 400 duplicate_header, nothing forwarded', async () => {
      await withRelay({ allow, route }, async (r) => {
        const res = await r.send([KEY, `X-Upstream-Authorization: ${UPSTREAM_TOKEN}`, 'X-Upstream-Authorization: Bearer second']);
        assertRefusal(res, r, 400, 'duplicate_header', 'x-upstream-authorization', [UPSTREAM_TOKEN]);
        assert.equal(r.backend.requests.length, 0);
      });
    });
  });

  describe('J3: no CR/LF reaches the backend through a template', () => {
    const route: RouteIdentity = {
      principal: userOf,
      headers: { template: { Authorization: 'Bearer {captured:x-user-token}', 'X-Identity': 'user={principal}' } },
    };
    const allow = ['x-mcp-api-key', 'x-user-token'];

    it('J3: a captured input with a byte Node lets through but a header must not carry (obs-text) is refused at capture (400), nothing forwarded', async () => {
      await withRelay({ allow, route }, async (r) => {
        const res = await r.raw(Buffer.from(`GET /b HTTP/1.1\r\nHost: gw.test\r\n${KEY}\r\nX-User-Token: ${SENTINEL}\xe9X-Evil: 1\r\n\r\n`, 'latin1'));
        assertRefusal(res, r, 400, 'invalid_header_value', 'x-user-token');
        assert.equal(r.backend.requests.length, 0);
      });
    });

    it('J3: a principal with CR/LF: 500 computed_header_failed naming the header, nothing forwarded, no value anywhere', async () => {
      const crlf: RouteIdentity = { ...route, principal: () => `${SENTINEL}-user\r\nX-Evil: 1` };
      await withRelay({ allow, route: crlf }, async (r) => {
        const res = await r.send([KEY, `X-User-Token: ${SENTINEL}-tok`]);
        assertRefusal(res, r, 500, 'computed_header_failed', 'x-identity', [`${SENTINEL}-tok`]);
        assert.equal(r.backend.requests.length, 0);
      });
    });

    it('J3: the rendered values reach the backend whole; an absent input sends no header, not "Bearer "', async () => {
      await withRelay({ allow, route }, async (r) => {
        assert.equal((await r.send([KEY, `X-User-Token: tok-1`, `X-Test-User: ${USER_ID}`])).status, 200);
        assert.deepEqual(wireValues(r.backend.last(), 'authorization'), ['Bearer tok-1']);
        assert.deepEqual(wireValues(r.backend.last(), 'x-identity'), [`user=${USER_ID}`]);
        assert.deepEqual(wireValues(r.backend.last(), 'x-user-token'), [], 'a template input is not forwarded under its own name');
        assert.equal((await r.send([KEY])).status, 200);
        assert.deepEqual(wireValues(r.backend.last(), 'authorization'), []);
        assert.deepEqual(wireValues(r.backend.last(), 'x-identity'), []);
      });
    });

    it("J3: CR/LF in a template's literal text is refused at construction", () => {
      expectConfigError(
        () => mcpProxy({ target: TARGET, headers: { template: { 'X-A': 'a\r\nX-Evil: {principal}' } }, principal: userOf }),
        'ERR_INVALID_TEMPLATE',
        'headers.template["X-A"]',
      );
    });
  });

  describe('J4: a computed header that fails is a 500 naming the header, never a value, and the process serves on', () => {
    const failures: [string, RouteIdentity['headers']][] = [
      [
        'throws',
        {
          fromRequest: {
            'X-User-Id': () => {
              throw new Error(`${SENTINEL}-thrown`);
            },
          },
        },
      ],
      ['rejects', { fromRequest: { 'X-User-Id': () => Promise.reject(new Error(`${SENTINEL}-rejected`)) } }],
      ['returns a number', { fromRequest: { 'X-User-Id': () => 42 as unknown as string } }],
      ['returns CR/LF', { fromRequest: { 'X-User-Id': () => `${SENTINEL}\r\nX-Evil: 1` } }],
      ['returns a value over maxValueLength', { fromRequest: { 'X-User-Id': () => `${SENTINEL}${'x'.repeat(9000)}` } }],
      ['never settles (past connectTimeout)', { fromRequest: { 'X-User-Id': () => new Promise<string>(() => {}) } }],
    ];
    for (const [label, headers] of failures) {
      it(`J4: a function that ${label}`, async () => {
        await withRelay({ route: { headers }, connectTimeout: 300 }, async (r) => {
          const res = await r.send([KEY]);
          assertRefusal(res, r, 500, 'computed_header_failed', 'x-user-id');
          assert.equal(r.backend.requests.length, 0);
          assert.ok(r.logger.text().includes('x-user-id') || r.logger.text().includes('X-User-Id'), 'the log names the header');
          // The process serves on: the next request gets the same answer.
          assertRefusal(await r.send([KEY]), r, 500, 'computed_header_failed', 'x-user-id');
        });
      });
    }
  });

  describe('J5: required headers fail closed', () => {
    const route: RouteIdentity = { headers: { fromCaptured: { Authorization: 'x-upstream-authorization' } }, required: ['authorization'] };
    const allow = ['x-mcp-api-key', 'x-upstream-authorization'];

    it('J5: without the source of a required header: 400 missing_required_header, nothing forwarded (no fallback credential)', async () => {
      await withRelay({ allow, route }, async (r) => {
        const res = await r.send([KEY, `Authorization: Bearer ${SENTINEL_CLIENT_AUTH}`]);
        assertRefusal(res, r, 400, 'missing_required_header', 'authorization', [SENTINEL_CLIENT_AUTH]);
        assert.equal(r.backend.requests.length, 0);
      });
    });

    it('J5: with it: forwarded', async () => {
      await withRelay({ allow, route }, async (r) => {
        assert.equal((await r.send([KEY, `X-Upstream-Authorization: ${UPSTREAM_TOKEN}`])).status, 200);
        assert.deepEqual(wireValues(r.backend.last(), 'authorization'), [UPSTREAM_TOKEN]);
      });
    });
  });

  describe('J6: audit hears names and sources, never a value', () => {
    it('J6: one event per request that relayed a credential, with the source of each', async () => {
      const events: CredentialAuditEvent[] = [];
      const route: RouteIdentity = { headers: { fromCaptured: { Authorization: 'x-upstream-authorization' } }, audit: (e) => void events.push(e) };
      await withRelay({ allow: ['x-mcp-api-key', 'x-upstream-authorization'], route }, async (r) => {
        assert.equal((await r.send([KEY, `X-Upstream-Authorization: ${UPSTREAM_TOKEN}`], { method: 'GET' })).status, 200);
        assert.equal((await r.send([KEY])).status, 200, 'no credential relayed: no event');
        assert.equal(events.length, 1);
        assert.deepEqual(events[0]!.headers, [{ name: 'authorization', source: 'renamed' }]);
        assert.equal(events[0]!.method, 'GET');
        assert.match(events[0]!.route, /^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
        assert.ok(!JSON.stringify(events).includes(SENTINEL), 'no value in the event');
      });
    });

    it('J6: a hook that throws is logged and the request goes on', async () => {
      const route: RouteIdentity = {
        headers: { fromCaptured: { Authorization: 'x-upstream-authorization' } },
        audit: () => {
          throw new Error(`${SENTINEL}-audit`);
        },
      };
      await withRelay({ allow: ['x-mcp-api-key', 'x-upstream-authorization'], route }, async (r) => {
        assert.equal((await r.send([KEY, `X-Upstream-Authorization: ${UPSTREAM_TOKEN}`])).status, 200);
        assert.ok(r.logger.lines.some((l) => l.level === 'error' && /audit/.test(l.message)));
        assertNoLeak(undefined, r, [UPSTREAM_TOKEN]);
      });
    });
  });

  describe('J7: sessions bind what the route reads, and pin keeps no credential', () => {
    const route: RouteIdentity = { headers: { fromCaptured: { Authorization: 'x-upstream-authorization' } } };
    const allow = ['x-mcp-api-key', 'x-upstream-authorization'];

    it('J7: bind: a request that swaps the renamed token mid-session gets 404, not forwarded', async () => {
      const mcp = new McpLike();
      await withRelay({ allow, route, respond: mcp.respond, session: { mode: 'bind', sessionKey: randomBytes(32) } }, async (r) => {
        const g = { r, mcp };
        const victim = [KEY, `X-Upstream-Authorization: ${UPSTREAM_TOKEN}`];
        const id = await open(g, victim);
        const before = r.backend.requests.length;
        assertRelay404(g, await call(g, [KEY, `X-Upstream-Authorization: Bearer ${SENTINEL}-attacker`], { id }), before, [UPSTREAM_TOKEN]);
        const got = assertForwarded(g, await call(g, victim, { id }), before, id);
        assert.deepEqual(wireValues(got, 'authorization'), [UPSTREAM_TOKEN]);
      });
    });

    it('J7: pin: a later request without the renamed token gets no Authorization from the pin', async () => {
      const mcp = new McpLike();
      const session = { mode: 'pin' as const, principal: userOf };
      await withRelay({ allow, route, respond: mcp.respond, session }, async (r) => {
        const g = { r, mcp };
        const user = `X-Test-User: ${USER_ID}`;
        const id = await open(g, [KEY, user, `X-Upstream-Authorization: ${UPSTREAM_TOKEN}`]);
        const before = r.backend.requests.length;
        const got = assertForwarded(g, await call(g, [KEY, user], { id }), before, id);
        assert.deepEqual(wireValues(got, 'authorization'), [], "a renamed credential is the caller's to send each time");
        assert.deepEqual(wireValues(got, 'x-mcp-api-key'), [SENTINEL_KEY]);
      });
    });
  });

  describe('J8: configuration mistakes throw at construction with the option path', () => {
    const cases: [string, () => unknown, string, string][] = [
      [
        'one name in two maps (fromCaptured and plaintext, any casing)',
        () => mcpProxy({ target: TARGET, headers: { plaintext: { 'X-A': 'v' }, fromCaptured: { 'x-a': 'x-b' } } }),
        'ERR_DUPLICATE_HEADER',
        'headers.fromCaptured["x-a"]',
      ],
      [
        'one name in fromRequest and template',
        () => mcpProxy({ target: TARGET, headers: { template: { 'X-A': 'v' }, fromRequest: { 'X-A': () => 'v' } } }),
        'ERR_DUPLICATE_HEADER',
        'headers.fromRequest["X-A"]',
      ],
      [
        'passthrough lists a name the route computes',
        () => mcpProxy({ target: TARGET, passthrough: ['x-user-id'], headers: { fromRequest: { 'X-User-Id': () => 'v' } } }),
        'ERR_HEADER_OVERLAP',
        'headers.fromRequest["X-User-Id"]',
      ],
      [
        'passthrough lists a renamed source',
        () => mcpProxy({ target: TARGET, passthrough: ['x-up'], headers: { fromCaptured: { Authorization: 'x-up' } } }),
        'ERR_HEADER_OVERLAP',
        'headers.fromCaptured["Authorization"]',
      ],
      [
        "the caller's authorization renamed without allowCredentials",
        () => mcpProxy({ target: TARGET, headers: { fromCaptured: { 'X-Backend-Auth': 'authorization' } } }),
        'ERR_CREDENTIAL_HEADER',
        'headers.fromCaptured["X-Backend-Auth"]',
      ],
      [
        "the caller's cookie in a template without allowCredentials",
        () => mcpProxy({ target: TARGET, headers: { template: { 'X-C': 'c={captured:cookie}' } } }),
        'ERR_CREDENTIAL_HEADER',
        'headers.template["X-C"]',
      ],
      [
        'a rename into Host',
        () => mcpProxy({ target: TARGET, headers: { fromCaptured: { Host: 'x-host' } } }),
        'ERR_RESTRICTED_HEADER',
        'headers.fromCaptured["Host"]',
      ],
      [
        'a template into Mcp-Session-Id',
        () => mcpProxy({ target: TARGET, headers: { template: { 'Mcp-Session-Id': '{captured:x-s}' } } }),
        'ERR_RESTRICTED_HEADER',
        'headers.template["Mcp-Session-Id"]',
      ],
      [
        'a rename from Transfer-Encoding',
        () => mcpProxy({ target: TARGET, headers: { fromCaptured: { 'X-T': 'transfer-encoding' } } }),
        'ERR_RESTRICTED_HEADER',
        'headers.fromCaptured["X-T"]',
      ],
      [
        '{principal} without a principal',
        () => mcpProxy({ target: TARGET, headers: { template: { 'X-U': '{principal}' } } }),
        'ERR_INVALID_TEMPLATE',
        'headers.template["X-U"]',
      ],
      [
        'an unknown template source',
        () => mcpProxy({ target: TARGET, headers: { template: { 'X-U': '{env:HOME}' } } }),
        'ERR_INVALID_TEMPLATE',
        'headers.template["X-U"]',
      ],
      [
        'a template secret that does not exist',
        () => mcpProxy({ target: TARGET, headers: { template: { 'X-U': 'k={secret:MCP_RELAY_J8_ABSENT}' } } }),
        'ERR_SECRET_MISSING',
        'headers.template["X-U"]',
      ],
      [
        'fromRequest that is not a function',
        () => mcpProxy({ target: TARGET, headers: { fromRequest: { 'X-U': 'alice' as unknown as () => string } } }),
        'ERR_INVALID_OPTION',
        'headers.fromRequest["X-U"]',
      ],
      [
        'fromCaptured naming something other than a string',
        () => mcpProxy({ target: TARGET, headers: { fromCaptured: { 'X-A': ['x-b'] as unknown as string } } }),
        'ERR_INVALID_OPTION',
        'headers.fromCaptured["X-A"]',
      ],
      [
        'a template that is not a string',
        () => mcpProxy({ target: TARGET, headers: { template: { 'X-A': 5 as unknown as string } } }),
        'ERR_INVALID_TEMPLATE',
        'headers.template["X-A"]',
      ],
      [
        'fromCredential given a string instead of a credential source',
        () => mcpProxy({ target: TARGET, headers: { fromCredential: { 'X-T': 'Bearer static' as never } } }),
        'ERR_INVALID_OPTION',
        'headers.fromCredential["X-T"]',
      ],
      [
        'fromCredential { source, cache } whose source is not a credential source',
        () => mcpProxy({ target: TARGET, headers: { fromCredential: { 'X-T': { source: { key: () => 'k' } as never } } } }),
        'ERR_INVALID_OPTION',
        'headers.fromCredential["X-T"].source',
      ],
      [
        'fromCredential { source, cache } with another key',
        () => mcpProxy({ target: TARGET, headers: { fromCredential: { 'X-T': { source: credentialSource(), ttl: 60 } as never } } }),
        'ERR_INVALID_OPTION',
        'headers.fromCredential["X-T"].ttl',
      ],
      ...(['fromCaptured', 'template', 'fromRequest', 'fromCredential'] as const).map((map): [string, () => unknown, string, string] => [
        `65 entries in headers.${map}`,
        () => {
          const value = { fromCaptured: 'x-in', template: 'v', fromRequest: () => 'v', fromCredential: credentialSource() }[map];
          const entries = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`X-H${i}`, value]));
          return mcpProxy({ target: TARGET, headers: { [map]: entries } });
        },
        'ERR_TOO_MANY_HEADERS',
        `headers.${map}`,
      ]),
      [
        'fromCredential { source, cache } with an unknown cache option',
        () => mcpProxy({ target: TARGET, headers: { fromCredential: { 'X-T': { source: credentialSource(), cache: { tll: 60 } as never } } } }),
        'ERR_INVALID_OPTION',
        'headers.fromCredential["X-T"].cache.tll',
      ],
      ['a required name that is not a header name', () => mcpProxy({ target: TARGET, required: ['x a'] }), 'ERR_INVALID_HEADER_NAME', 'required[0]'],
      [
        'a required header the route can never send',
        () => mcpProxy({ target: TARGET, passthrough: ['x-a'], required: ['x-b'] }),
        'ERR_INVALID_OPTION',
        'required[0]',
      ],
    ];
    for (const [label, build, code, path] of cases) it(`J8: ${label} → ${code} at ${path}`, () => void expectConfigError(build, code as never, path));

    it("J8: a credential header's cache options are mcpProxy's, with a did-you-mean", () => {
      const error = expectConfigError(
        () => mcpProxy({ target: TARGET, headers: { fromCredential: { 'X-T': { source: credentialSource(), cache: { tll: 60 } as never } } } }),
        'ERR_INVALID_OPTION',
        'headers.fromCredential["X-T"].cache.tll',
      );
      assert.equal(error.rule, 'unknown option of mcpProxy(); did you mean "ttl"?');
    });
  });

  it('J9: a secret in a template goes out in the header and is never echoed back to the client', async () => {
    const route: RouteIdentity = { headers: { template: { 'X-Figma-Token': 'figma {secret:SOME_ENV_NAME}' } } };
    await withRelay(
      {
        route,
        respond: (req, res) => {
          res.setHeader('X-Echo', String(req.headers['x-figma-token']));
          res.setHeader('content-type', 'application/json');
          res.end('{"ok":true}');
        },
        responseHeaders: ['x-echo'],
      },
      async (r) => {
        const res = await r.send([KEY]);
        assert.equal(res.status, 200);
        assert.deepEqual(wireValues(r.backend.last(), 'x-figma-token'), [`figma ${SENTINEL_SECRET}`]);
        assert.equal(res.headers['x-echo'], undefined, 'the templated secret is not handed to the client');
        assertNoLeak(res, r);
      },
    );
  });

  it('J10: a Connection header naming the renamed source is refused (a hop before the relay would have removed it)', async () => {
    const route: RouteIdentity = { headers: { fromCaptured: { Authorization: 'x-upstream-authorization' } } };
    await withRelay({ allow: ['x-mcp-api-key', 'x-upstream-authorization'], route }, async (r) => {
      const res = await r.send([KEY, `X-Upstream-Authorization: ${UPSTREAM_TOKEN}`, 'Connection: x-upstream-authorization']);
      assertRefusal(res, r, 400, 'connection_nominates_forwarded_header', 'x-upstream-authorization', [UPSTREAM_TOKEN]);
      assert.equal(r.backend.requests.length, 0);
    });
  });

  describe('J11: a per-user credential that cannot be had: 502 credential_unavailable, never forwarded without it', () => {
    const source = (resolve: () => unknown): RouteIdentity => ({
      headers: {
        fromCredential: {
          Authorization: {
            source: { description: 'the test issuer', key: () => 'user-1', resolve: resolve as () => string },
            cache: { timeout: 200, failureTtl: 0 },
          },
        },
      },
    });
    const failures: [string, () => unknown][] = [
      [
        'the source throws an error carrying a value',
        () => {
          throw new Error(`${SENTINEL}-issuer-said`);
        },
      ],
      ['the source answers CR/LF', () => `Bearer ${SENTINEL}\r\nX-Evil: 1`],
      ['the source answers a number', () => 42],
      ['the source never answers (past its timeout)', () => new Promise(() => {})],
    ];
    for (const [label, resolve] of failures) {
      it(`J11: ${label}`, async () => {
        await withRelay({ route: source(resolve) }, async (r) => {
          const res = await r.send([KEY]);
          assertRefusal(res, r, 502, 'credential_unavailable', 'authorization');
          assert.equal(r.backend.requests.length, 0);
          assert.ok(r.logger.text().includes('the test issuer'), 'the log names the source');
        });
      });
    }

    it('J11: a source with no credential for this caller sends no Authorization (and `required` refuses it)', async () => {
      const none: RouteIdentity = { ...source(() => undefined), required: ['authorization'] };
      await withRelay({ route: none }, async (r) => {
        assertRefusal(await r.send([KEY, `Authorization: Bearer ${SENTINEL_CLIENT_AUTH}`]), r, 400, 'missing_required_header', 'authorization', [
          SENTINEL_CLIENT_AUTH,
        ]);
        assert.equal(r.backend.requests.length, 0);
      });
    });
  });
});
