/**
 * The pure parts of the gateway's hot reload: the route digest (what counts as "the same route"), the
 * diff by route name that the `reloaded` line reports, the listener settings only a restart applies,
 * and building a new generation that carries running routes over by digest. Routes are real mcpProxy
 * routes built from gateway files (nothing is contacted).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildGateway, type BuiltGateway } from '../../lib/cli/build-routes.js';
import { parseConfig, type GatewayConfig } from '../../lib/cli/config-file.js';
import { restartOnly, retiredRoutes, routeChanges } from '../../lib/cli/reload.js';
import { digestOf } from '../../lib/cli/route-digest.js';
import { closedAfterwards } from '../helpers/built-gateways.js';
import { captureLogger } from '../helpers/capture-logger.js';

const keep = closedAfterwards();

const route = (name: string, extra = '') => `  - path: /${name}\n    name: ${name}\n    target: http://127.0.0.1:9/${name}\n${extra}`;
const file = (routes: string, listen = 'listen: { port: 0 }') => `${listen}\nroutes:\n${routes}`;
const config = (text: string): GatewayConfig => parseConfig(text, 'relay.yaml', '/tmp');

function build(text: string, running?: BuiltGateway): BuiltGateway {
  const byDigest = new Map(running?.routes.map((r) => [r.digest, r.route]));
  const built = buildGateway(config(text), { logger: captureLogger(), reuse: (d) => byDigest.get(d) });
  keep(built);
  return built;
}

describe('route digest', () => {
  it('ignores key order (YAML reordered is no change) and undefined keys; sees any value, nested or in a list', () => {
    assert.equal(digestOf({ a: 1, b: { c: [1, 2], d: 'x' } }), digestOf({ b: { d: 'x', c: [1, 2] }, a: 1, e: undefined }));
    assert.notEqual(digestOf({ b: { c: [1, 2] } }), digestOf({ b: { c: [2, 1] } }));
    assert.notEqual(digestOf({ a: '1' }), digestOf({ a: 1 }));
    assert.notEqual(digestOf({ a: null }), digestOf({}));
  });

  it('hashes file contents (TLS PEM buffers) rather than leaving them out', () => {
    assert.equal(digestOf({ ca: Buffer.from('pem one') }), digestOf({ ca: Buffer.from('pem one') }));
    assert.notEqual(digestOf({ ca: Buffer.from('pem one') }), digestOf({ ca: Buffer.from('pem two') }));
  });
});

describe('a reload build', () => {
  it('carries over a route whose file text did not change, reordered keys included, and builds a changed one anew', () => {
    const first = build(file(route('a', '    passthrough: [x-a]\n    session: bind\n') + route('b')));
    const next = build(
      file(route('a', '    session: bind\n    passthrough: [x-a]\n') + route('b', '    headers: { plaintext: { X-Tag: two } }\n') + route('c')),
      first,
    );
    assert.equal(next.routes[0]!.route, first.routes[0]!.route, 'a: the same running route');
    assert.ok(next.routes[0]!.reused && !next.routes[1]!.reused);
    assert.deepEqual(routeChanges(first.routes, next.routes), { added: ['c'], removed: [], changed: ['b'], kept: ['a'] });
    assert.deepEqual(
      retiredRoutes(first.routes, next.routes).map((r) => r.route.name),
      ['b'],
    );
  });

  it('a route whose secret provider changed is a changed route, though its own lines did not change', () => {
    const withEnv = `secrets: { s: { type: env } }\n`;
    const withDir = `secrets: { s: { type: file, dir: /run/secrets } }\n`;
    const lines = route('a', '    secrets: s\n');
    const first = build(withEnv + file(lines));
    const next = build(withDir + file(lines), first);
    assert.deepEqual(routeChanges(first.routes, next.routes).changed, ['a']);
  });

  it('removed routes are reported and retired; a failed build closes only what it built, never a carried-over route', async () => {
    const first = build(file(route('a') + route('b')));
    const next = build(file(route('a')), first);
    assert.deepEqual(routeChanges(first.routes, next.routes), { added: [], removed: ['b'], changed: [], kept: ['a'] });
    assert.throws(() => build(file(route('a') + route('z') + route('z2', '    name: z\n').replace('    name: z2\n', '')), next), /routes\[2\]\.name/);
    // Route a was carried into the failed build: it must still be open (close() resolves with nothing cut, and it was not closed before).
    const probe = await first.routes[0]!.route.probe();
    assert.notEqual(probe.reason, 'closed');
  });
});

describe('settings only a restart applies', () => {
  const base = config(file(route('a'), 'listen: { port: 8080 }'));
  it('the listener address, the admin listener, switching TLS on or off', () => {
    assert.deepEqual(restartOnly(base, config(file(route('b'), 'listen: { port: 8080 }'))), []);
    assert.deepEqual(restartOnly(base, config(file(route('a'), 'listen: { host: 0.0.0.0, port: 8081 }'))), ['listen.host', 'listen.port']);
    assert.deepEqual(restartOnly(base, config(file(route('a'), 'listen: { port: 8080 }\nadmin: { port: 9090 }'))), ['admin']);
    assert.deepEqual(restartOnly(base, config(file(route('a'), 'listen: { port: 8080, tls: { certFile: a.crt, keyFile: a.key } }'))), ['listen.tls']);
  });
});
