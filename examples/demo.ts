/**
 * mcp-header-relay demo: `npm run demo`.
 *
 * Starts three real MCP backends and a relay (captureHeaders + three mcpProxy routes) on 127.0.0.1.
 * SDK v1 clients go through two routes to SDK v1 servers in the 2025-11-25 era (initialize, tool call,
 * session DELETE; on the `bind` route also a request with a swapped key, which gets 404); an SDK v2
 * client pinned to 2026-07-28 goes through the third to an SDK v2 server (server/discover, tools/list,
 * a tool call whose argument travels in Mcp-Param-Region). It then prints which headers each backend
 * received on each HTTP leg, with values masked, and `route.explain` for the initialize on the first
 * route: the same prediction as a dry run, with the reason each other header is dropped.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Client as ClientV2, StreamableHTTPClientTransport as TransportV2 } from '@modelcontextprotocol/client';
import { captureHeaders, envSecrets, formatExplanation, mcpProxy } from '../lib/index.js';
import type { McpRoute, RelayMiddleware } from '../lib/index.js';
import { startBackend, startModernBackend, type DemoBackend, type ReceivedLeg } from './backend.js';

// An obviously fake credential, as a deployment would inject through its environment.
process.env.DEMO_GITHUB_API_KEY = 'fake-demo-secret-not-a-real-key';

/** What the MCP client sends on every request. `authorization` is there to show it is NOT forwarded. */
const CLIENT_HEADERS: Record<string, string> = {
  'x-mcp-api-key': 'demo-key-alice-0001',
  'x-tenant': 'acme-corp',
  authorization: 'Bearer demo-user-token-do-not-forward',
};

interface Route {
  path: string;
  backend: DemoBackend;
  description: string;
  /** Lower-case names of this route's secret-backed headers: masked completely. */
  secretHeaders: string[];
  /** The route uses session: 'bind'. */
  bind?: boolean;
  /** The protocol era its client speaks, and so the HTTP legs the backend must see, in order. */
  era: 'legacy' | 'modern';
}

const LEG_ORDER = {
  legacy: ['initialize', 'notifications/initialized', 'tools/call', 'GET stream', 'DELETE'],
  modern: ['server/discover', 'tools/list', 'tools/call'],
};
const LEG_LABEL: Record<string, string> = { 'notifications/initialized': 'initialized' };

/** Protocol and framing values are not sensitive: shown as they are (truncated). */
const SHOWN_AS_IS = new Set([
  'accept',
  'content-type',
  'mcp-protocol-version',
  'mcp-method',
  'mcp-name',
  'mcp-param-region',
  'connection',
  'content-length',
  'host',
]);

function mask(name: string, value: string, secretHeaders: readonly string[]): string {
  if (secretHeaders.includes(name)) return '********';
  if (SHOWN_AS_IS.has(name)) return value.length > 20 ? `${value.slice(0, 19)}…` : value;
  const prefix = value.slice(0, Math.min(4, Math.floor(value.length / 2)));
  return `${prefix}…(${value.length} chars)`;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

function rowOrder(name: string): number {
  if (name.startsWith('x-')) return 0;
  if (name.startsWith('mcp-') || name === 'accept' || name === 'content-type') return 1;
  return 2;
}

function printTable(route: Route): boolean {
  const order = LEG_ORDER[route.era];
  const legs = [...route.backend.legs].sort((a, b) => order.indexOf(a.leg) - order.indexOf(b.leg));
  const names = [...new Set(legs.flatMap((l) => Object.keys(l.headers)))].sort((a, b) => rowOrder(a) - rowOrder(b) || a.localeCompare(b));
  const columns = ['header', ...legs.map((l) => LEG_LABEL[l.leg] ?? l.leg)];
  const rows = names.map((name) => [
    name,
    ...legs.map((l: ReceivedLeg) => {
      const value = headerValue(l.headers[name]);
      return value === undefined ? '-' : mask(name, value, route.secretHeaders);
    }),
  ]);
  const widths = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();

  console.log(`\nBackend "${route.backend.name}"  (relay route ${route.path} -> ${route.backend.url})`);
  console.log(`  ${route.description}`);
  console.log(`  ${line(columns)}`);
  console.log(`  ${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  for (const row of rows) console.log(`  ${line(row)}`);

  const withAuthorization = legs.filter((l) => l.headers.authorization !== undefined).length;
  console.log(
    withAuthorization === 0
      ? `  authorization: sent by the client on every request, NOT forwarded to "${route.backend.name}" on any of its ${legs.length} legs.`
      : `  authorization: FORWARDED on ${withAuthorization} of ${legs.length} legs (this should never happen)`,
  );
  const withTenant = legs.filter((l) => l.headers['x-tenant'] !== undefined).length;
  if (withTenant === 0) console.log(`  x-tenant: captured by the relay, but not in this route's passthrough, so not forwarded.`);
  return withAuthorization === 0 && legs.length === order.length;
}

async function waitFor(condition: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
}

/** Under session: 'bind', a request on the same session with another key never reaches the backend. */
async function trySwappedKey(relayUrl: string, route: Route, sessionId: string | undefined): Promise<void> {
  const response = await fetch(`${relayUrl}${route.path}`, {
    method: 'POST',
    headers: {
      ...CLIENT_HEADERS,
      'x-mcp-api-key': 'demo-key-mallory-0666',
      'mcp-session-id': sessionId ?? '',
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 99, method: 'tools/call', params: { name: 'whoami', arguments: {} } }),
  });
  const body = (await response.json()) as { error?: { message?: string } };
  console.log(`same session via ${route.path} with another x-mcp-api-key (session: 'bind'): ${response.status} ${body.error?.message ?? ''}`);
}

async function runClient(relayUrl: string, route: Route): Promise<string> {
  const transport = new StreamableHTTPClientTransport(new URL(`${relayUrl}${route.path}`), { requestInit: { headers: CLIENT_HEADERS } });
  const client = new Client({ name: 'demo-client', version: '1.0.0' });
  try {
    await client.connect(transport);
    // The client opens its GET stream in the background after initialize; let it arrive for the table.
    await waitFor(() => route.backend.legs.some((l) => l.leg === 'GET stream'), 2000);
    const result = await client.callTool({ name: 'whoami', arguments: {} });
    if (route.bind) await trySwappedKey(relayUrl, route, transport.sessionId);
    await transport.terminateSession();
    const content = result.content as { type: string; text?: string }[];
    return content[0]?.text ?? '';
  } finally {
    await client.close();
  }
}

/** An SDK v2 client pinned to MCP 2026-07-28: no session; `region` is mirrored into Mcp-Param-Region. */
async function runModernClient(relayUrl: string, route: Route): Promise<string> {
  const client = new ClientV2({ name: 'demo-client', version: '1.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
  try {
    await client.connect(new TransportV2(new URL(`${relayUrl}${route.path}`), { requestInit: { headers: CLIENT_HEADERS } }));
    // The tool list tells the client which arguments to mirror into headers.
    await client.listTools();
    const result = await client.callTool({ name: 'whoami', arguments: { region: 'eu-west-1' } });
    const content = result.content as { type: string; text?: string }[];
    return content[0]?.text ?? '';
  } finally {
    await client.close();
  }
}

/** The dry run of the client's initialize on /github: what that backend receives and why the rest is dropped, no request sent. */
async function printExplanation(route: McpRoute, capture: RelayMiddleware, backend: DemoBackend): Promise<boolean> {
  // reveal: the demo's values are fake; the secret-backed X-Api-Key stays masked all the same.
  const result = await route.explain({
    capture,
    reveal: true,
    headers: {
      Host: 'localhost',
      'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream',
      'Content-Length': '170',
      ...CLIENT_HEADERS,
    },
  });
  console.log('\nExplain (a dry run, no request sent): route.explain({ capture, headers }) for an initialize on /github');
  console.log(
    formatExplanation(result)
      .split('\n')
      .map((line) => `  ${line}`)
      .join('\n'),
  );
  // The prediction against what the backend actually got on the initialize leg.
  const predicted = result.forwarded.map((h) => h.name).sort();
  const received = Object.keys(backend.legs.find((l) => l.leg === 'initialize')?.headers ?? {}).sort();
  const same = predicted.join() === received.join();
  console.log(same ? '  Same header names as "github" received on its initialize.' : `  MISMATCH: "github" received ${received.join(', ')}`);
  return same;
}

async function main(): Promise<number> {
  const github = await startBackend('github');
  const search = await startBackend('search');
  const docs = await startModernBackend('docs');

  const app = express();
  const capture = captureHeaders({ allow: ['x-mcp-api-key', 'x-tenant'] });
  app.use(capture);
  const githubRoute = mcpProxy({
    name: 'github',
    target: github.url,
    passthrough: ['x-mcp-api-key'],
    headers: { plaintext: { 'X-MCP-Toolsets': 'projects,issues' }, fromSecret: { 'X-Api-Key': 'DEMO_GITHUB_API_KEY' } },
    secrets: envSecrets(),
    // Every request of a session must carry the x-mcp-api-key it was initialized with.
    session: 'bind',
  });
  app.use('/github', githubRoute);
  app.use('/search', mcpProxy({ name: 'search', target: search.url }));
  // The same route serves 2025 and 2026 clients; this one is reached by a 2026-07-28 client.
  app.use('/docs', mcpProxy({ name: 'docs', target: docs.url, passthrough: ['x-mcp-api-key'] }));
  const relay = http.createServer(app);
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  const relayUrl = `http://127.0.0.1:${(relay.address() as AddressInfo).port}`;

  const routes: Route[] = [
    {
      path: '/github',
      backend: github,
      description: "passthrough [x-mcp-api-key]; static X-MCP-Toolsets; X-Api-Key from env DEMO_GITHUB_API_KEY (masked); session: 'bind'",
      secretHeaders: ['x-api-key'],
      bind: true,
      era: 'legacy',
    },
    { path: '/search', backend: search, description: 'passthrough: default (every captured header except credentials)', secretHeaders: [], era: 'legacy' },
    {
      path: '/docs',
      backend: docs,
      description: 'SDK v2 server, SDK v2 client pinned to MCP 2026-07-28 (no session); passthrough [x-mcp-api-key]',
      secretHeaders: [],
      era: 'modern',
    },
  ];

  let ok = true;
  try {
    console.log(`Relay listening on ${relayUrl}`);
    console.log(
      `The client sends: ${Object.entries(CLIENT_HEADERS)
        .map(([n, v]) => `${n}: ${mask(n, v, [])}`)
        .join('; ')}`,
    );
    for (const route of routes) {
      const answer = route.era === 'modern' ? await runModernClient(relayUrl, route) : await runClient(relayUrl, route);
      console.log(`tools/call whoami via ${route.path}: ${answer}`);
    }
    for (const route of routes) ok = printTable(route) && ok;
    ok = (await printExplanation(githubRoute, capture, github)) && ok;
  } finally {
    relay.closeAllConnections();
    await new Promise<void>((resolve) => relay.close(() => resolve()));
    await github.close();
    await search.close();
    await docs.close();
  }
  console.log(ok ? '\nDone: every leg reached its backend, and no backend received authorization.' : '\nUnexpected result, see above.');
  return ok ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  },
);
