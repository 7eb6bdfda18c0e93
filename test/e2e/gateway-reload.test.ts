/**
 * Hot reload of `mcp-header-relay serve`, as a user meets it: the real command in a child process, a
 * YAML file edited in place (written to a temp name and renamed over, as editors save), real SDK
 * backends and clients of both eras. An edit takes effect with no restart while event streams opened
 * before it keep flowing, on the route that did not change (its session too) and on the one that did;
 * an invalid edit is refused, logged by path and rule, and the running configuration goes on; SIGHUP
 * reloads when the watcher is off; a removed route stops answering; SIGTERM still drains in time.
 */
import assert from 'node:assert/strict';
import { renameSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { eraBackend, type EraBackend } from '../helpers/mcp-eras.js';
import { eraClient, type EraClient } from '../helpers/mcp-eras-clients.js';
import { fileDir, serve, serveWith, START_MS, stop, type Served } from '../helpers/relay-command.js';
import { SENTINEL } from '../helpers/sentinel.js';
import { sleep, waitFor, withTimeout } from '../helpers/wait.js';

const files = fileDir('relay-reload-');
const KEY = { 'x-mcp-api-key': 'alice-key' };

interface Reloaded {
  trigger: string;
  added: string[];
  removed: string[];
  changed: string[];
  kept: string[];
  capture: string;
}

/** Replaces the file the way editors save: a new file renamed over the old one. */
function edit(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}

/** The `reloaded` lines so far. */
function reloads(gateway: Served): Reloaded[] {
  return gateway
    .stdout()
    .split('\n')
    .filter((line) => line.includes('"msg":"reloaded"'))
    .map((line) => JSON.parse(line) as Reloaded);
}

async function nextReload(gateway: Served, count: number): Promise<Reloaded> {
  await waitFor(() => reloads(gateway).length > count, 'the gateway to reload', START_MS);
  return reloads(gateway)[count]!;
}

const lastPost = (backend: EraBackend) => backend.requests.filter((r) => r.method === 'POST').at(-1)!;

describe('mcp-header-relay serve: hot reload on a file change', () => {
  let a: EraBackend;
  let b: EraBackend;
  let c: EraBackend;
  let gateway: Served;
  let file: string;
  const clients: EraClient[] = [];

  const config = (tag: string, extra = '') => `
listen: { host: 127.0.0.1, port: 0 }
shutdownGrace: 1000
capture: { allow: [x-mcp-api-key] }
routes:
  - path: /a
    name: a
    target: ${a.endpoint}
    passthrough: [x-mcp-api-key]
    session: bind
  - path: /b
    name: b
    target: ${b.endpoint}
    headers: { plaintext: { X-Config: ${tag} } }
${extra}`;
  const routeC = () => `  - path: /c\n    name: c\n    target: ${c.endpoint}\n`;

  before(async () => {
    [a, b, c] = await Promise.all([eraBackend('v1'), eraBackend('v2-stateless'), eraBackend('v2-stateless')]);
    file = files.write('relay.yaml', config('one'));
    gateway = await serve(file);
  });

  after(async () => {
    await stop(gateway);
    await Promise.all(clients.map((client) => client.close().catch(() => undefined)));
    await Promise.all([a.close(), b.close(), c.close()]);
  });

  const connected = async (client: EraClient) => {
    clients.push(client);
    await client.connect();
    return client;
  };

  it('an edit applies at once: a changed route sends its new headers, an added route answers; streams opened before it keep flowing', async () => {
    // A 2025 session with its GET stream on /a, and a 2026 subscriptions/listen stream on /b.
    const legacy = await connected(eraClient('v1', `${gateway.url}/a`, KEY));
    await waitFor(() => a.requests.some((r) => r.method === 'GET'), 'the GET stream to reach backend a');
    const modern = await connected(eraClient('v2-2026', `${gateway.url}/b`, {}));
    const listening = await modern.listen();
    await waitFor(() => b.requests.some((r) => r.body.includes('subscriptions/listen')), 'the listen stream to reach backend b');
    assert.equal(lastPost(b).headers['x-config'], 'one');

    edit(file, config('two', routeC()));
    const reloaded = await nextReload(gateway, 0);
    const { trigger, added, removed, changed, kept, capture } = reloaded;
    assert.deepEqual(
      { trigger, added, removed, changed, kept, capture },
      { trigger: 'file', added: ['c'], removed: [], changed: ['b'], kept: ['a'], capture: 'kept' },
    );

    // Both streams were opened before the edit: the one on the kept route and the one on the retired route flow on.
    const seenA = legacy.received.length;
    const seenB = modern.received.length;
    a.notifyToolsChanged();
    b.notifyToolsChanged();
    await waitFor(() => legacy.received.slice(seenA).includes('tools/list_changed'), 'the 2025 GET stream on the kept route to deliver');
    await waitFor(() => modern.received.slice(seenB).includes('tools/list_changed'), 'the 2026 listen stream on the changed route to deliver');

    // The kept route kept its session table: the bound session goes on.
    assert.ok((await legacy.listTools()).length > 0);
    // New requests take the new routes.
    const fresh = await connected(eraClient('v2-2026', `${gateway.url}/b`, {}));
    await fresh.callTool('echo', { region: 'eu' });
    assert.equal(lastPost(b).headers['x-config'], 'two');
    const onC = await connected(eraClient('v2-2026', `${gateway.url}/c`, {}));
    assert.ok((await onC.listTools()).length > 0);
    await listening.close();
  });

  it('an invalid edit is refused by path and rule, never a value; the running configuration keeps serving', async () => {
    const count = reloads(gateway).length;
    const broken = config('two', routeC()).replace(
      'headers: { plaintext: { X-Config: two } }',
      `headers: { plaintext: { X-Config: "${SENTINEL}\\r\\nX-Evil: 1" } }`,
    );
    edit(file, broken);
    await waitFor(() => gateway.stderr().includes('reload refused'), 'the refusal to be logged', START_MS);
    const refusal = gateway
      .stderr()
      .split('\n')
      .find((line) => line.includes('reload refused'))!;
    assert.match(refusal, /"path":"routes\[1\]\.headers\.plaintext\[\\"X-Config\\"\]"/);
    assert.ok(!gateway.stderr().includes(SENTINEL) && !gateway.stdout().includes(SENTINEL), 'no value of the file in any log');
    assert.equal(reloads(gateway).length, count, 'nothing was applied');

    const client = await connected(eraClient('v2-2026', `${gateway.url}/b`, {}));
    await client.callTool('echo', { region: 'eu' });
    assert.equal(lastPost(b).headers['x-config'], 'two', 'the last valid configuration still serves');
    assert.ok(!Object.hasOwn(lastPost(b).headers, 'x-evil'));
  });

  it('removing a route: its path stops answering and the retired route closes', async () => {
    const count = reloads(gateway).length;
    edit(file, config('two'));
    const reloaded = await nextReload(gateway, count);
    assert.deepEqual(reloaded.removed, ['c']);
    assert.deepEqual(reloaded.kept.sort(), ['a', 'b']);
    const answer = await fetch(`${gateway.url}/c`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(answer.status, 404);
    await waitFor(() => /"msg":"mcpProxy: closed","route":"c"/.test(gateway.stdout()), 'the retired route to close');
  });

  it('SIGTERM after reloads, with a stream still open on a retired route: drains within shutdownGrace and exits 0', async () => {
    const modern = await connected(eraClient('v2-2026', `${gateway.url}/b`, {}));
    await modern.listen();
    const count = reloads(gateway).length;
    edit(file, config('three'));
    await nextReload(gateway, count);
    gateway.child.kill('SIGTERM');
    const { code } = await withTimeout(gateway.exited, 'the gateway to exit (shutdownGrace 1 s)', START_MS);
    assert.equal(code, 0);
  });
});

describe('mcp-header-relay serve --no-watch: SIGHUP reloads', () => {
  it('a change waits for SIGHUP; SIGHUP applies it', async () => {
    const backend = await eraBackend('v2-stateless');
    const file = files.write(
      'hup.yaml',
      `listen: { port: 0 }\nroutes:\n  - { path: /b, name: b, target: "${backend.endpoint}", headers: { plaintext: { X-Config: one } } }\n`,
    );
    const gateway = await serveWith(['serve', '--config', file, '--no-watch']);
    try {
      edit(file, `listen: { port: 0 }\nroutes:\n  - { path: /b, name: b, target: "${backend.endpoint}", headers: { plaintext: { X-Config: two } } }\n`);
      await sleep(800);
      assert.equal(reloads(gateway).length, 0, 'no reload without the watcher');
      gateway.child.kill('SIGHUP');
      const reloaded = await nextReload(gateway, 0);
      assert.equal(reloaded.trigger, 'signal');
      assert.deepEqual(reloaded.changed, ['b']);
      const client = eraClient('v2-2026', `${gateway.url}/b`, {});
      await client.connect();
      await client.callTool('echo', { region: 'eu' });
      await client.close();
      assert.equal(lastPost(backend).headers['x-config'], 'two');
    } finally {
      await stop(gateway);
      await backend.close();
    }
  });
});
