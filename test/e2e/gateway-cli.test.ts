/**
 * The `mcp-header-relay` command as a user runs it: a child process (`node --import tsx
 * lib/cli/main.ts`) with a YAML file in a temp directory, in front of real SDK backends and SDK clients.
 * Headers arrive at the backends as the file says; `check` and `explain` report; /readyz and /metrics
 * answer on the admin listener; SIGTERM drains a request under way and exits 0, a second signal at once.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eraBackend, type EraBackend } from '../helpers/mcp-eras.js';
import { eraClient } from '../helpers/mcp-eras-clients.js';
import { parseExposition, sumOf } from '../helpers/prom-text.js';
import { recordingBackend, type RecordingBackend } from '../helpers/recording-backend.js';
import { fileDir, hideModule, ROOT, run, serve, START_MS, stop, type Served } from '../helpers/relay-command.js';
import { SENTINEL } from '../helpers/sentinel.js';
import { sleep, waitFor, withTimeout } from '../helpers/wait.js';

const writeFile = fileDir('relay-cli-').write;
const SECRET = `${SENTINEL}-cli-secret`;

const gatewayFile = (v1: EraBackend, v2: EraBackend, spare: EraBackend) => `
listen: { host: 127.0.0.1, port: 0 }
admin: { port: 0 }
capture: { allow: [x-mcp-api-key, x-tenant] }
routes:
  - path: /v1
    name: v1
    target: ${v1.endpoint}
    passthrough: [x-mcp-api-key]
    headers:
      plaintext: { X-Client: relay-gateway }
      fromSecret: { X-Api-Key: RELAY_CLI_KEY }
    session: bind
    health: { cacheTtl: 0 }
  - path: /v2
    name: v2
    target: ${v2.endpoint}
    passthrough: [x-mcp-api-key, x-tenant]
    headers:
      fromSecret: { X-Api-Key: RELAY_CLI_KEY }
    health: { cacheTtl: 0 }
  - path: /spare
    name: spare
    target: ${spare.endpoint}
    health: { cacheTtl: 0, timeout: 1000 }
`;

const CLIENT_HEADERS = { 'x-mcp-api-key': 'client-key', 'x-tenant': 'acme', authorization: 'Bearer client-token' };

describe('mcp-header-relay serve: a YAML file in front of real SDK backends', () => {
  let v1: EraBackend;
  let v2: EraBackend;
  let spare: EraBackend;
  let gateway: Served;
  let file: string;

  before(async () => {
    [v1, v2, spare] = await Promise.all([eraBackend('v1'), eraBackend('v2-stateless'), eraBackend('v2-stateless')]);
    file = writeFile('relay.yaml', gatewayFile(v1, v2, spare));
    gateway = await serve(file, { RELAY_CLI_KEY: SECRET });
  });

  after(async () => {
    await stop(gateway);
    await Promise.all([v1.close(), v2.close(), spare.close()]);
  });

  it('an SDK v1 client through /v1 (2025, bound session): passthrough, static and secret headers arrive; authorization and x-tenant do not', async () => {
    const client = eraClient('v1', `${gateway.url}/v1`, CLIENT_HEADERS);
    await client.connect();
    assert.ok((await client.listTools()).length > 0);
    await client.close();
    const posts = v1.requests.filter((r) => r.method === 'POST');
    assert.ok(posts.length >= 2, `initialize and tools/list reached the backend (${posts.length})`);
    for (const request of posts) {
      assert.equal(request.headers['x-mcp-api-key'], 'client-key');
      assert.equal(request.headers['x-client'], 'relay-gateway');
      assert.equal(request.headers['x-api-key'], SECRET);
      assert.equal(request.headers.authorization, undefined);
      assert.equal(request.headers['x-tenant'], undefined);
    }
  });

  it('an SDK v2 client speaking 2026-07-28 through /v2: its passthrough list and the secret arrive; authorization does not', async () => {
    const client = eraClient('v2-2026', `${gateway.url}/v2`, CLIENT_HEADERS);
    await client.connect();
    const result = await client.callTool('echo', { region: 'eu' });
    assert.equal(result.isError ?? false, false);
    await client.close();
    const posts = v2.requests.filter((r) => r.method === 'POST');
    assert.ok(posts.length >= 1);
    for (const request of posts) {
      assert.equal(request.headers['x-tenant'], 'acme');
      assert.equal(request.headers['x-api-key'], SECRET);
      assert.equal(request.headers['x-client'], undefined);
      assert.equal(request.headers.authorization, undefined);
    }
  });

  it('/metrics on the admin listener counts the requests each route handled', async () => {
    const before = v1.requests.length;
    const client = eraClient('v1', `${gateway.url}/v1`, CLIENT_HEADERS);
    await client.connect();
    await client.close();
    // A request is counted when its response ends at the gateway, a moment after the backend has it.
    const scrape = async () => {
      const answer = await fetch(`${gateway.admin}/metrics`);
      assert.equal(answer.status, 200);
      return parseExposition(await answer.text());
    };
    let exposition = await scrape();
    const deadline = Date.now() + 3000;
    while (sumOf(exposition, 'mcp_relay_requests_total', { route: 'v1' }) !== v1.requests.length && Date.now() < deadline) {
      await sleep(50);
      exposition = await scrape();
    }
    const counted = sumOf(exposition, 'mcp_relay_requests_total', { route: 'v1' });
    assert.equal(counted, v1.requests.length, `the backend saw ${v1.requests.length} requests (${before} before this test)`);
    assert.ok(sumOf(exposition, 'mcp_relay_requests_total', { route: 'v2' }) >= 1);
    assert.equal((await fetch(`${gateway.url}/metrics`)).status, 404, 'not on the main listener when an admin one is configured');
  });

  it('/healthz answers 200; /readyz 200 while every backend answers, 503 naming the route once one stops', async () => {
    assert.equal((await fetch(`${gateway.admin}/healthz`)).status, 200);
    const ready = await fetch(`${gateway.admin}/readyz`);
    assert.equal(ready.status, 200, await ready.clone().text());
    await spare.close();
    const notReady = await fetch(`${gateway.admin}/readyz`);
    assert.equal(notReady.status, 503);
    const report = (await notReady.json()) as { routes: { route: string; ok: boolean }[] };
    assert.deepEqual(
      report.routes.filter((r) => !r.ok).map((r) => r.route),
      ['spare'],
    );
  });

  it('no log line carries the secret value', () => {
    assert.ok(!gateway.stdout().includes(SENTINEL));
  });
});

describe('mcp-header-relay check and explain', () => {
  const valid = () =>
    writeFile(
      'check.yaml',
      `listen: { port: 0 }\ncapture: { allow: [x-mcp-api-key] }\nroutes:\n  - path: /github\n    name: github\n    target: http://127.0.0.1:9/mcp\n    passthrough: [x-mcp-api-key]\n    headers:\n      plaintext: { X-Client: relay }\n      fromSecret: { X-Api-Key: RELAY_CLI_KEY }\n    session: bind\n`,
    );

  it('check on a valid file prints each route: name, mount path, target, passthrough, header names, session mode; never a value', async () => {
    const ran = await run(['check', valid()], { RELAY_CLI_KEY: SECRET });
    assert.equal(ran.code, 0, ran.stderr);
    for (const expected of [
      'route github',
      '/github',
      'http://127.0.0.1:9/mcp',
      'passthrough: x-mcp-api-key',
      'X-Client',
      'X-Api-Key (env: RELAY_CLI_KEY)',
      'session:     bind',
    ]) {
      assert.ok(ran.stdout.includes(expected), `${expected} in:\n${ran.stdout}`);
    }
    assert.ok(!ran.stdout.includes('relay\n') && !ran.stdout.includes(SENTINEL));
  });

  it('check on a broken file exits 1 naming the file and the path in it, not the value', async () => {
    const file = writeFile(
      'broken.yaml',
      `listen: { port: 0 }\nroutes:\n  - path: /a\n    target: http://127.0.0.1:9/mcp\n  - path: /b\n    name: b\n    target: http://127.0.0.1:9/mcp\n    headers: { fromSecret: { X-Api-Key: RELAY_CLI_KEY } }\n`,
    );
    const ran = await run(['check', file], { RELAY_CLI_KEY: `${SENTINEL}\r\nX-Injected: 1` });
    assert.equal(ran.code, 1);
    assert.ok(ran.stderr.includes(`${file}: routes[1].headers.fromSecret["X-Api-Key"]: `), ran.stderr);
    assert.ok(!ran.stderr.includes(SENTINEL) && !ran.stdout.includes(SENTINEL));
  });

  it('explain shows what the backend would receive, the secret masked and authorization dropped', async () => {
    const args = ['explain', valid(), '--route', 'github', '--header', 'X-Mcp-Api-Key: abc', '--header', 'Authorization: Bearer t'];
    const ran = await run(args, { RELAY_CLI_KEY: SECRET });
    assert.equal(ran.code, 0, ran.stderr);
    assert.match(ran.stdout, /Outcome: forwarded/);
    assert.match(ran.stdout, /x-api-key +\*\*\* +secret +secret RELAY_CLI_KEY/);
    assert.match(ran.stdout, /authorization +not_captured/);
    assert.ok(!ran.stdout.includes(SENTINEL));
  });

  it('usage errors exit 2 with the usage; help prints it and exits 0', async () => {
    const usage: [readonly string[], number, RegExp][] = [
      [[], 2, /^mcp-header-relay: no command given\n\nUsage:/],
      [['frobnicate'], 2, /^mcp-header-relay: unknown command "frobnicate"\n\nUsage:/],
      [['check', 'a.yaml', 'b.yaml'], 2, /^mcp-header-relay: expected one FILE argument, got 2\n/],
      [['serve'], 2, /^mcp-header-relay: missing --config FILE\n/],
      [['explain', 'a.yaml', '--route', 'github', '--header', 'no colon here'], 2, /^mcp-header-relay: explain: --header must be 'Name: value'/],
    ];
    const runs = await Promise.all(usage.map(([args]) => run(args)));
    runs.forEach((ran, i) => {
      const [args, code, stderr] = usage[i]!;
      assert.equal(ran.code, code, `${args.join(' ')}: ${ran.stderr}`);
      assert.match(ran.stderr, stderr);
    });
    const [help, checkHelp] = await Promise.all([run(['help']), run(['check', '--help'])]);
    for (const ran of [help, checkHelp]) {
      assert.equal(ran.code, 0, ran.stderr);
      assert.match(ran.stdout, /^Usage:/m);
    }
  });

  it('explain: a route the file does not have exits 1 listing the routes; a header given twice is sent twice', async () => {
    const file = valid();
    const [unknown, twice] = await Promise.all([
      run(['explain', file, '--route', 'gitlab'], { RELAY_CLI_KEY: SECRET }),
      run(['explain', file, '--route', '/github', '-H', 'X-Mcp-Api-Key: a', '-H', 'X-Mcp-Api-Key: b'], { RELAY_CLI_KEY: SECRET }),
    ]);
    assert.equal(unknown.code, 1);
    assert.equal(unknown.stderr, `${file}: no route named gitlab; routes: github (/github)\n`);
    assert.equal(twice.code, 0, twice.stderr);
    assert.match(twice.stdout, /Outcome: rejected by captureHeaders: 400 duplicate_header \(header x-mcp-api-key\)/);
  });

  it('an unknown flag exits 2 with the usage; --version prints the package version', async () => {
    const bad = await run(['check', '--nope', 'x.yaml']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /Usage:/);
    const version = await run(['--version']);
    assert.equal(version.code, 0);
    assert.equal(
      version.stdout.trim(),
      (JSON.parse((await import('node:fs')).readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version,
    );
  });
});

const HIDE_PROM_CLIENT = hideModule('prom-client');

describe('mcp-header-relay serve without prom-client', () => {
  it('serves; /metrics answers 404 with a JSON reason; the missing package is logged once, at start', async () => {
    const hide = writeFile('hide-prom-client.mjs', HIDE_PROM_CLIENT);
    const file = writeFile('no-metrics.yaml', 'listen: { port: 0 }\nroutes:\n  - path: /a\n    target: http://127.0.0.1:9/mcp\n');
    const gateway = await serve(file, {}, ['--import', hide]);
    try {
      for (let i = 0; i < 2; i++) {
        const answer = await fetch(`${gateway.url}/metrics`);
        assert.equal(answer.status, 404);
        assert.equal(((await answer.json()) as { error: string }).error, 'metrics_unavailable');
      }
      assert.equal((await fetch(`${gateway.url}/healthz`)).status, 200);
      assert.equal(gateway.stderr().match(/prom-client is not installed/g)?.length, 1, gateway.stderr());
    } finally {
      await stop(gateway);
    }
  });
});

/** The same for express: `import('express')` fails as it does where the package is not installed. */
const HIDE_EXPRESS = hideModule('express');

describe('mcp-header-relay serve without express', () => {
  it('exits 1 saying express is needed and how to install it', async () => {
    const hide = writeFile('hide-express.mjs', HIDE_EXPRESS);
    const file = writeFile('no-express.yaml', 'listen: { port: 0 }\nroutes:\n  - path: /a\n    target: http://127.0.0.1:9/mcp\n');
    const ran = await run(['serve', '--config', file], {}, ['--import', hide]);
    assert.equal(ran.code, 1);
    assert.equal(ran.stderr, 'serve needs express (an optional peer dependency of mcp-header-relay): npm install express\n');
    assert.equal(ran.stdout, '');
  });
});

describe('mcp-header-relay serve: signals', () => {
  let slow: RecordingBackend;
  const DELAY_MS = 1500;

  before(async () => {
    slow = await recordingBackend((_req, res) => {
      setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"jsonrpc":"2.0","id":1,"result":{}}'), DELAY_MS);
    });
  });
  after(() => slow.close());

  const file = (grace: number) =>
    writeFile(`signals-${grace}.yaml`, `listen: { port: 0 }\nshutdownGrace: ${grace}\nroutes:\n  - path: /slow\n    name: slow\n    target: ${slow.url}/mcp\n`);
  const post = (url: string) =>
    fetch(`${url}/slow`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: '{"jsonrpc":"2.0","id":1,"method":"tools/list"}',
    });

  it('SIGTERM while a request is under way: the request completes, the process exits 0', async () => {
    const gateway = await serve(file(10_000));
    const seen = slow.requests.length;
    const answer = post(gateway.url);
    await waitFor(() => slow.requests.length > seen, 'the request to reach the backend');
    gateway.child.kill('SIGTERM');
    const response = await answer;
    assert.equal(response.status, 200);
    assert.equal(await response.text(), '{"jsonrpc":"2.0","id":1,"result":{}}');
    const { code } = await withTimeout(gateway.exited, 'the gateway to exit', START_MS);
    assert.equal(code, 0);
    assert.match(gateway.stdout(), /"msg":"stopped","finished":1,"cut":0/);
  });

  it('a second signal during the grace period exits at once (143 for SIGTERM)', async () => {
    const gateway = await serve(file(60_000));
    const seen = slow.requests.length;
    const answer = post(gateway.url).catch(() => undefined);
    await waitFor(() => slow.requests.length > seen, 'the request to reach the backend');
    gateway.child.kill('SIGTERM');
    await waitFor(() => gateway.stdout().includes('"msg":"stopping"'), 'the first signal to be taken');
    gateway.child.kill('SIGTERM');
    const { code } = await withTimeout(gateway.exited, 'the gateway to exit at once (the grace is 60 s)', 3000);
    assert.equal(code, 143);
    await answer;
  });
});
