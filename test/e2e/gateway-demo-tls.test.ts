/**
 * Two things of `mcp-header-relay serve` a user meets first or in production: `serve --demo` (its own
 * SDK backends behind a built-in configuration, which it prints as a file that `check` accepts) and
 * HTTPS on the gateway's own listener (plain HTTP and untrusted clients refused, mutual TLS, and a
 * renewed certificate taken on SIGHUP without a restart). The real command, real SDK clients and backends.
 */
import assert from 'node:assert/strict';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { eraBackend, type EraBackend } from '../helpers/mcp-eras.js';
import { eraClient } from '../helpers/mcp-eras-clients.js';
import { fileDir, hideModule, run, serve, serveWith, START_MS, stop, type Served } from '../helpers/relay-command.js';
import { NAMED_SERVER_NAME, testPki, type TestPki } from '../helpers/test-ca.js';
import { waitFor, withTimeout } from '../helpers/wait.js';

const files = fileDir('relay-listener-');

const HIDE_SDK = hideModule('@modelcontextprotocol/sdk');

describe('mcp-header-relay serve --demo', () => {
  let demo: Served;

  before(async () => {
    demo = await serveWith(['serve', '--demo', '--port', '0']);
  });
  after(() => stop(demo));

  it('an SDK client on /projects (2025 session, bind): the backend gets the key, the static and the secret header, not authorization', async () => {
    const client = eraClient('v1', `${demo.url}/projects/mcp`, { 'x-mcp-api-key': 'my-key', 'x-tenant': 'acme', authorization: 'Bearer not-forwarded' });
    await client.connect();
    const result = await client.callTool('whoami', {});
    await client.terminate();
    await client.close();
    assert.equal(result.content?.[0]?.text, 'projects received: x-api-key, x-mcp-api-key, x-mcp-toolsets');
  });

  it('the printed curl call on /search works as printed: x-mcp-api-key and x-tenant arrive, authorization does not', async () => {
    assert.ok(demo.stdout().includes(`curl -s ${demo.url}/search/mcp`), demo.stdout());
    const answer = await fetch(`${demo.url}/search/mcp`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'x-mcp-api-key': 'my-key',
        'x-tenant': 'acme',
        authorization: 'Bearer x',
      },
      body: '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":{}}}',
    });
    assert.equal(answer.status, 200);
    assert.match(await answer.text(), /search received: x-mcp-api-key, x-tenant"/);
  });

  it('the configuration it prints is a gateway file check accepts; /readyz sees both backends', async () => {
    const yaml = demo.stdout().slice(demo.stdout().indexOf('# mcp-header-relay serve --demo'), demo.stdout().indexOf('Try it:'));
    const ran = await run(['check', files.write('demo.yaml', yaml)], { RELAY_DEMO_API_KEY: 'a-key-of-my-own' });
    assert.equal(ran.code, 0, ran.stderr);
    assert.match(ran.stdout, /route projects[\s\S]*secret: +X-Api-Key \(env: RELAY_DEMO_API_KEY\)[\s\S]*route search/);
    const ready = await fetch(`${demo.url}/readyz`);
    assert.equal(ready.status, 200, await ready.clone().text());
  });

  it('a port in use: exit 1 saying so and what to pass', async () => {
    const busy = new URL(demo.url).port;
    const ran = await run(['serve', '--demo', '--port', busy]);
    assert.equal(ran.code, 1);
    assert.equal(ran.stderr, `serve --demo: port ${busy} is in use; pass --port 0 for any free port, or another port\n`);
  });

  it('without the MCP SDK installed: exit 1 naming the package to install', async () => {
    const ran = await run(['serve', '--demo', '--port', '0'], {}, ['--import', files.write('hide-sdk.mjs', HIDE_SDK)]);
    assert.equal(ran.code, 1);
    assert.equal(ran.stderr, 'serve --demo runs its backends on the MCP TypeScript SDK: npm install @modelcontextprotocol/sdk\n');
  });

  it('--demo with --config, or --port without --demo, is a usage error (exit 2)', async () => {
    assert.equal((await run(['serve', '--demo', '--config', 'x.yaml'])).code, 2);
    assert.equal((await run(['serve', '--config', 'x.yaml', '--port', '1'])).code, 2);
  });

  it('SIGTERM stops the gateway and its backends and exits 0', async () => {
    demo.child.kill('SIGTERM');
    const { code } = await withTimeout(demo.exited, 'the demo to exit', START_MS);
    assert.equal(code, 0);
  });
});

interface Answer {
  status: number;
  altNames: string;
}

const INITIALIZE = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } },
});

/** An initialize over a new TLS connection, trusting `ca`; resolves with the status and the certificate the gateway showed. */
function initialize(url: string, tls: https.RequestOptions): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = https.request(
      `${url}/mcp`,
      {
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'x-mcp-api-key': 'k' },
        ...tls,
      },
      (res) => {
        const altNames = (res.socket as TLSSocket).getPeerCertificate().subjectaltname ?? '';
        res.resume();
        res.once('end', () => resolve({ status: res.statusCode ?? 0, altNames }));
      },
    );
    request.once('error', reject);
    request.end(INITIALIZE);
  });
}

describe('mcp-header-relay serve: HTTPS on its own listener', () => {
  let pki: TestPki;
  let backend: EraBackend;

  before(async () => {
    pki = testPki();
    backend = await eraBackend('v1');
  });
  after(() => backend.close());

  const tlsFile = (name: string, listenTls: string) => {
    files.write('ca.pem', pki.ca);
    return files.write(name, `listen: { port: 0, tls: { ${listenTls} } }\nroutes:\n  - { path: /mcp, name: b, target: "${backend.endpoint}" }\n`);
  };

  it('serves https with its certificate; plain HTTP and a client that does not trust it are refused; a renewed certificate is taken on SIGHUP', async () => {
    files.write('tls.crt', pki.server.cert);
    files.write('tls.key', pki.server.key);
    const gateway = await serve(tlsFile('https.yaml', 'certFile: tls.crt, keyFile: tls.key'));
    try {
      assert.match(gateway.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      const first = await initialize(gateway.url, { ca: pki.ca });
      assert.equal(first.status, 200);
      assert.match(first.altNames, /IP Address:127\.0\.0\.1/);
      await assert.rejects(fetch(`${gateway.url.replace('https:', 'http:')}/mcp`, { method: 'POST', body: INITIALIZE }));
      await assert.rejects(initialize(gateway.url, { ca: pki.otherCa }), /self-signed|unable to verify|certificate/i);

      // cert-manager style renewal: new files in place, then SIGHUP; new connections get the new certificate.
      files.write('tls.crt', pki.namedServer.cert);
      files.write('tls.key', pki.namedServer.key);
      gateway.child.kill('SIGHUP');
      await waitFor(() => gateway.stdout().includes('"msg":"reloaded"'), 'the reload', START_MS);
      const renewed = await initialize(gateway.url, { ca: pki.ca, servername: NAMED_SERVER_NAME });
      assert.equal(renewed.status, 200);
      assert.match(renewed.altNames, new RegExp(`DNS:${NAMED_SERVER_NAME.replaceAll('.', '\\.')}`));
    } finally {
      await stop(gateway);
    }
  });

  it('clientCaFile: a client without a certificate from that CA is refused, one with it is served', async () => {
    files.write('tls.crt', pki.server.cert);
    files.write('tls.key', pki.server.key);
    const gateway = await serve(tlsFile('mtls.yaml', 'certFile: tls.crt, keyFile: tls.key, clientCaFile: ca.pem'));
    try {
      await assert.rejects(initialize(gateway.url, { ca: pki.ca }));
      const answer = await initialize(gateway.url, { ca: pki.ca, cert: pki.client.cert, key: pki.client.key });
      assert.equal(answer.status, 200);
    } finally {
      await stop(gateway);
    }
  });

  it('check refuses a key that does not belong to the certificate, naming listen.tls and not the key', async () => {
    files.write('tls.crt', pki.server.cert);
    files.write('wrong.key', pki.client.key);
    const ran = await run(['check', tlsFile('mismatch.yaml', 'certFile: tls.crt, keyFile: wrong.key')]);
    assert.equal(ran.code, 1);
    assert.match(ran.stderr, /mismatch\.yaml: listen\.tls: the certificate, key and passphrase do not form a usable TLS identity/);
    assert.ok(!ran.stderr.includes('PRIVATE KEY') && !ran.stderr.includes(pki.client.key.split('\n')[1]!));
    const missing = await run(['check', tlsFile('missing.yaml', 'certFile: nope.crt, keyFile: wrong.key')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /listen\.tls\.certFile: cannot read .*nope\.crt \(ENOENT\)/);
  });
});
