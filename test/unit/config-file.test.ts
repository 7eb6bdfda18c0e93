/**
 * The gateway file (lib/cli/config-file.ts, config-shape.ts, build-routes.ts): what a valid file turns
 * into, and one test per broken file, each asserting the error's file prefix, its path in the file and
 * its code, and that no value written in the file (a SENTINEL) appears in the message.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { buildGateway } from '../../lib/cli/build-routes.js';
import { ConfigFileError, joinPath, loadConfigFile, parseConfig, type GatewayConfig } from '../../lib/cli/config-file.js';
import { describeGateway } from '../../lib/cli/output.js';
import { closeRoutes } from '../../lib/index.js';
import { captureLogger } from '../helpers/capture-logger.js';
import { SENTINEL } from '../helpers/sentinel.js';
import { testPki } from '../helpers/test-ca.js';

const FILE = 'relay.yaml';
const DIR = mkdtempSync(path.join(tmpdir(), 'relay-config-'));
const SECRET_VALUE = `${SENTINEL}-secret-value`;
const ENV = { GH_KEY: SECRET_VALUE };
const built: { close(): Promise<unknown> }[] = [];
after(() => Promise.all(built.map((b) => b.close())));

const ROUTE = 'target: http://127.0.0.1:9001/mcp';
const head = (routes: string) => `listen: { port: 0 }\ncapture: { allow: [x-mcp-api-key] }\nroutes:\n${routes}`;

/** Parses and builds like `check` does; the routes are closed after the suite. */
function load(text: string, env: NodeJS.ProcessEnv = ENV): GatewayConfig {
  const config = parseConfig(text, FILE, DIR);
  const gateway = buildGateway(config, { logger: captureLogger(), env });
  built.push({
    close: () =>
      closeRoutes(
        gateway.routes.map((r) => r.route),
        { grace: 0 },
      ),
  });
  return config;
}

function refused(text: string, path: string, code: string, env: NodeJS.ProcessEnv = ENV): ConfigFileError {
  let caught: unknown;
  try {
    load(text, env);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ConfigFileError, `expected a ConfigFileError, got ${String(caught)}`);
  assert.equal(caught.file, FILE);
  assert.equal(caught.path, path, caught.message);
  assert.equal(caught.code, code, caught.message);
  assert.ok(caught.message.startsWith(`${FILE}: ${path}: `), caught.message);
  assert.ok(!caught.message.includes(SENTINEL), `the message quotes a value: ${caught.message}`);
  return caught;
}

describe('gateway file: what a valid file becomes', () => {
  it('defaults: loopback host, no admin listener, 10 s grace, the env provider', () => {
    const config = load(head(`  - path: /github\n    ${ROUTE}\n`));
    assert.deepEqual(config.listen, { host: '127.0.0.1', port: 0, tls: undefined });
    assert.equal(config.admin, undefined);
    assert.equal(config.shutdownGrace, 10_000);
    assert.equal(config.reloadGrace, 60_000);
    assert.equal(config.routes[0]!.secrets, 'env');
    assert.deepEqual(Object.keys(config.secrets), ['env']);
  });

  it('a route maps onto mcpProxy options one to one; the mount path, provider and TLS files are the file own keys', () => {
    const config = load(
      head(
        `  - path: /github\n    name: github\n    ${ROUTE}\n    passthrough: [x-mcp-api-key]\n    headers: { fromSecret: { X-Api-Key: GH_KEY } }\n    session: bind\n    connectTimeout: 2000\n`,
      ),
    );
    const route = config.routes[0]!;
    assert.equal(route.path, '/github');
    assert.deepEqual(Object.keys(route.options).sort(), ['connectTimeout', 'headers', 'name', 'passthrough', 'session', 'target']);
  });

  it('relative paths (file secrets dir, TLS files) are read from the gateway file directory', () => {
    writeFileSync(path.join(DIR, 'ca.pem'), 'not used');
    const config = parseConfig(
      `listen: { port: 0 }\nsecrets: { files: { type: file, dir: secrets } }\nroutes:\n  - path: /a\n    target: https://127.0.0.1:9001/mcp\n    secrets: files\n    tls: { caFile: ca.pem }\n`,
      FILE,
      DIR,
    );
    assert.deepEqual(config.secrets.files, { type: 'file', dir: path.join(DIR, 'secrets') });
    assert.equal(config.routes[0]!.tls?.caFile, path.join(DIR, 'ca.pem'));
  });

  it('admin listener and shutdownGrace as written', () => {
    const config = load(`listen: { host: 0.0.0.0, port: 8080 }\nadmin: { port: 9090 }\nshutdownGrace: 500\nroutes:\n  - path: /a\n    ${ROUTE}\n`);
    assert.deepEqual(config.admin, { host: '127.0.0.1', port: 9090, tls: undefined });
    assert.equal(config.shutdownGrace, 500);
  });
});

describe("check's report of the effective routes", () => {
  /** What `check` prints for `text`: parsed and built like `check` does. */
  const report = (text: string): string => {
    const config = parseConfig(text, FILE, DIR);
    const gateway = buildGateway(config, { logger: captureLogger(), env: ENV });
    built.push({
      close: () =>
        closeRoutes(
          gateway.routes.map((r) => r.route),
          { grace: 0 },
        ),
    });
    return describeGateway(config, gateway.routes);
  };

  it('listeners, capture and each route: name, path, target, passthrough, header names with their secret, session mode; never a value', () => {
    const text = report(
      [
        'listen: { port: 8080 }',
        'routes:',
        '  - path: /plain',
        '    name: plain',
        `    ${ROUTE}`,
        '  - path: /full',
        '    name: full',
        '    target: http://127.0.0.1:9002/mcp',
        '    passthrough: []',
        '    headers: { plaintext: { X-Client: relay }, fromSecret: { X-Api-Key: GH_KEY } }',
        '    session: { mode: bind, idleTtl: 60000 }',
        '',
      ].join('\n'),
    );
    assert.equal(
      text,
      [
        `${FILE}: valid, 2 routes`,
        'listen: 127.0.0.1:8080',
        'admin:  on the main listener (/healthz /readyz /metrics)',
        'capture: (none)',
        'sessions: in memory, per process',
        '',
        'route plain',
        '  path:        /plain',
        '  target:      http://127.0.0.1:9001/mcp',
        '  passthrough: (every captured header but credentials)',
        '  session:     request',
        '',
        'route full',
        '  path:        /full',
        '  target:      http://127.0.0.1:9002/mcp',
        '  passthrough: (none)',
        '  static:      X-Client',
        '  secret:      X-Api-Key (env: GH_KEY)',
        '  session:     bind',
      ].join('\n'),
    );
  });

  it('one route, an admin listener, the capture list', () => {
    const text = report(`listen: { port: 0 }\nadmin: { port: 9090 }\ncapture: { allow: [x-mcp-api-key, x-tenant] }\nroutes:\n  - path: /a\n    ${ROUTE}\n`);
    assert.match(text, /^relay\.yaml: valid, 1 route\n/);
    assert.match(text, /\nadmin: {2}127\.0\.0\.1:9090 \(\/healthz \/readyz \/metrics\)\n/);
    assert.match(text, /\ncapture: x-mcp-api-key, x-tenant\n/);
  });
});

describe('gateway file: reading it', () => {
  it('a file that cannot be read: its path and the error code', () => {
    const missing = path.join(DIR, 'missing.yaml');
    assert.throws(
      () => loadConfigFile(missing),
      (error: unknown) => error instanceof ConfigFileError && error.message === `${missing}: (file): cannot be read (ENOENT)`,
    );
  });

  it('TLS files and a passphrase from the environment become the route options (the key decrypts with it)', () => {
    const pki = testPki();
    writeFileSync(path.join(DIR, 'client.crt'), pki.client.cert);
    writeFileSync(path.join(DIR, 'client-encrypted.key'), pki.encryptedClientKey);
    const config = parseConfig(
      `listen: { port: 0 }\nroutes:\n  - path: /a\n    target: https://127.0.0.1:9001/mcp\n    tls: { certFile: client.crt, keyFile: client-encrypted.key, passphraseEnv: RELAY_KEY_PASS }\n`,
      FILE,
      DIR,
    );
    const gateway = buildGateway(config, { logger: captureLogger(), env: { RELAY_KEY_PASS: pki.passphrase } });
    built.push({
      close: () =>
        closeRoutes(
          gateway.routes.map((r) => r.route),
          { grace: 0 },
        ),
    });
    assert.equal(gateway.routes.length, 1);
  });
});

describe('gateway file: the file own keys, refused with their path', () => {
  it('a YAML list instead of a mapping', () => {
    refused('- a\n- b\n', '(file)', 'ERR_INVALID_OPTION');
  });

  it('a YAML syntax error names line and column, not the line', () => {
    refused(`listen: { port: 0 }\nroutes:\n  - path: /a\n   bad: "${SENTINEL}\n`, 'line 4, column 1', 'ERR_CONFIG_FILE');
  });

  it('a key given twice', () => {
    refused('listen: { port: 0 }\nlisten: { port: 1 }\nroutes: []\n', 'line 2, column 1', 'ERR_CONFIG_FILE');
  });

  it('listen missing', () => {
    refused(`routes:\n  - path: /a\n    ${ROUTE}\n`, 'listen', 'ERR_INVALID_OPTION');
  });

  it('listen.port out of range', () => {
    refused(`listen: { port: 70000 }\nroutes:\n  - path: /a\n    ${ROUTE}\n`, 'listen.port', 'ERR_INVALID_OPTION');
  });

  it('a misspelt top-level key gets a did-you-mean', () => {
    const error = refused(`listen: { port: 0 }\nroute:\n  - path: /a\n`, 'route', 'ERR_INVALID_OPTION');
    assert.match(error.rule, /did you mean "routes"/);
  });

  it('no routes', () => {
    refused('listen: { port: 0 }\nroutes: []\n', 'routes', 'ERR_INVALID_OPTION');
  });

  it('a route without a mount path', () => {
    refused(head(`  - path: /a\n    ${ROUTE}\n  - ${ROUTE}\n`), 'routes[1].path', 'ERR_INVALID_OPTION');
  });

  it('a mount path without its leading /', () => {
    refused(head(`  - path: github\n    ${ROUTE}\n`), 'routes[0].path', 'ERR_INVALID_OPTION');
  });

  it('a misspelt route key gets a did-you-mean', () => {
    const error = refused(head(`  - path: /a\n    ${ROUTE}\n    passthru: [x-mcp-api-key]\n`), 'routes[0].passthru', 'ERR_INVALID_OPTION');
    assert.match(error.rule, /did you mean "passthrough"/);
  });

  it('an option only code can set (principal)', () => {
    refused(head(`  - path: /a\n    ${ROUTE}\n    principal: x\n`), 'routes[0].principal', 'ERR_INVALID_OPTION');
  });

  it('headers.fromRequest, which takes functions', () => {
    refused(head(`  - path: /a\n    ${ROUTE}\n    headers: { fromRequest: { X-User: x } }\n`), 'routes[0].headers.fromRequest', 'ERR_INVALID_OPTION');
  });

  it('a secret provider of an unknown type', () => {
    refused(`listen: { port: 0 }\nsecrets: { vault: { type: vault } }\nroutes:\n  - path: /a\n    ${ROUTE}\n`, 'secrets.vault.type', 'ERR_INVALID_OPTION');
  });

  it('a route naming a provider the file does not define', () => {
    const error = refused(head(`  - path: /a\n    ${ROUTE}\n    secrets: files\n`), 'routes[0].secrets', 'ERR_CONFIG_FILE');
    assert.match(error.rule, /defined: env/);
  });

  it('the same mount path twice', () => {
    refused(head(`  - path: /a\n    ${ROUTE}\n  - path: /a\n    name: other\n    ${ROUTE}\n`), 'routes[1].path', 'ERR_CONFIG_FILE');
  });

  it('a mount path inside another', () => {
    refused(head(`  - path: /a\n    ${ROUTE}\n  - path: /a/b\n    name: other\n    ${ROUTE}\n`), 'routes[1].path', 'ERR_CONFIG_FILE');
  });

  it('a mount path on an endpoint of the main listener (no admin listener)', () => {
    refused(head(`  - path: /metrics\n    ${ROUTE}\n`), 'routes[0].path', 'ERR_CONFIG_FILE');
  });

  it('the same mount path is fine with an admin listener', () => {
    assert.equal(load(`listen: { port: 0 }\nadmin: { port: 0 }\nroutes:\n  - path: /metrics\n    ${ROUTE}\n`).routes[0]!.path, '/metrics');
  });

  it('TLS as inline PEM instead of files', () => {
    refused(head(`  - path: /a\n    ${ROUTE}\n    tls: { ca: "${SENTINEL}" }\n`), 'routes[0].tls.ca', 'ERR_INVALID_OPTION');
  });
});

describe('gateway file: the library checks each route, and its errors are addressed in the file', () => {
  it('a secret missing from the environment', () => {
    const text = head(`  - path: /a\n    ${ROUTE}\n  - path: /b\n    name: b\n    ${ROUTE}\n    headers: { fromSecret: { X-Api-Key: GH_KEY } }\n`);
    refused(text, 'routes[1].headers.fromSecret["X-Api-Key"]', 'ERR_SECRET_MISSING', {});
  });

  it('a restricted header set by the route', () => {
    refused(
      head(`  - path: /a\n    ${ROUTE}\n    headers: { plaintext: { Host: evil.example } }\n`),
      'routes[0].headers.plaintext["Host"]',
      'ERR_RESTRICTED_HEADER',
    );
  });

  it('a static value with a line break, not quoted back', () => {
    refused(
      head(`  - path: /a\n    ${ROUTE}\n    headers: { plaintext: { X-Client: "${SENTINEL}\\r\\nX-Evil: 1" } }\n`),
      'routes[0].headers.plaintext["X-Client"]',
      'ERR_INVALID_HEADER_VALUE',
    );
  });

  it('a credential in capture.allow without allowCredentials', () => {
    refused(`listen: { port: 0 }\ncapture: { allow: [authorization] }\nroutes:\n  - path: /a\n    ${ROUTE}\n`, 'capture.allow[0]', 'ERR_CREDENTIAL_HEADER');
  });

  it('a route without a target', () => {
    refused(head('  - path: /a\n    name: a\n'), 'routes[0].target', 'ERR_INVALID_OPTION');
  });

  it('a session option out of range', () => {
    refused(head(`  - path: /a\n    ${ROUTE}\n    session: { mode: bind, idleTtl: -1 }\n`), 'routes[0].session.idleTtl', 'ERR_INVALID_OPTION');
  });

  it('two routes with the same effective name (the target when unnamed)', () => {
    refused(head(`  - path: /a\n    ${ROUTE}\n  - path: /b\n    ${ROUTE}\n`), 'routes[1].name', 'ERR_CONFIG_FILE');
  });

  it('a CA file that cannot be read', () => {
    const error = refused(
      head(`  - path: /a\n    target: https://127.0.0.1:9001/mcp\n    tls: { caFile: missing.pem }\n`),
      'routes[0].tls.caFile',
      'ERR_CONFIG_FILE',
    );
    assert.match(error.rule, /ENOENT/);
  });

  it('tls with an http: target', () => {
    refused(head(`  - path: /a\n    ${ROUTE}\n    tls: { servername: mcp.example }\n`), 'routes[0].tls', 'ERR_INVALID_TLS');
  });

  it('a passphrase variable that is not set', () => {
    refused(
      head(`  - path: /a\n    target: https://127.0.0.1:9001/mcp\n    tls: { passphraseEnv: RELAY_TEST_UNSET }\n`),
      'routes[0].tls.passphraseEnv',
      'ERR_CONFIG_FILE',
    );
  });
});

describe('gateway file: listener TLS and the reload grace', () => {
  const route = `routes:\n  - path: /a\n    ${ROUTE}\n`;

  it('listener TLS file paths are resolved from the file directory; the grace periods are read', () => {
    const config = parseConfig(
      `listen: { port: 0, tls: { certFile: tls/a.crt, keyFile: /abs/a.key, clientCaFile: [ca1.pem, ca2.pem] } }\nreloadGrace: 5000\n${route}`,
      FILE,
      DIR,
    );
    assert.deepEqual(config.listen.tls, {
      certFile: path.join(DIR, 'tls/a.crt'),
      keyFile: '/abs/a.key',
      clientCaFile: [path.join(DIR, 'ca1.pem'), path.join(DIR, 'ca2.pem')],
    });
    assert.equal(config.reloadGrace, 5000);
  });

  it('listen.tls needs both files', () => {
    refused(`listen: { port: 0, tls: { certFile: a.crt } }\n${route}`, 'listen.tls.keyFile', 'ERR_INVALID_OPTION');
  });

  it('an unknown listen.tls key, with a hint', () => {
    refused(`listen: { port: 0, tls: { certFile: a.crt, keyFile: a.key, caFiles: x } }\n${route}`, 'listen.tls.caFiles', 'ERR_INVALID_OPTION');
  });

  it('an unreadable certificate is refused at load, by path', () => {
    const error = refused(`listen: { port: 0, tls: { certFile: missing.crt, keyFile: missing.key } }\n${route}`, 'listen.tls.certFile', 'ERR_CONFIG_FILE');
    assert.match(error.rule, /cannot read .*missing\.crt \(ENOENT\)/);
  });

  it('admin.tls is read too', () => {
    refused(`listen: { port: 0 }\nadmin: { port: 0, tls: { certFile: nope.crt, keyFile: nope.key } }\n${route}`, 'admin.tls.certFile', 'ERR_CONFIG_FILE');
  });

  it('reloadGrace: whole milliseconds', () => {
    refused(`listen: { port: 0 }\nreloadGrace: 1.5\n${route}`, 'reloadGrace', 'ERR_INVALID_OPTION');
  });
});

describe('joinPath: a library path under its place in the file', () => {
  const cases: [string, string, string][] = [
    ['routes[1]', 'headers.plaintext["X"]', 'routes[1].headers.plaintext["X"]'],
    ['capture', 'allow[0]', 'capture.allow[0]'],
    ['routes[0]', '(options)', 'routes[0]'],
    ['secrets.files', 'fileSecrets(dir)', 'secrets.files'],
    ['routes', '[2]', 'routes[2]'],
  ];
  for (const [at, inner, expected] of cases) it(`${at} + ${inner}`, () => assert.equal(joinPath(at, inner), expected));
});
