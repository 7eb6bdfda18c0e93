/**
 * End to end across both MCP eras: every SDK client (v1; v2 speaking 2025-11-25; v2 pinned to
 * 2026-07-28) against every SDK backend (v1 with sessions; v2 stateless; v2 hybrid), each scenario run
 * directly and through the relay. What a pair does directly is asserted against what the SDKs are
 * known to do; what it does through the relay must then be the same, failures included. Every request
 * the relay forwarded is checked on the backend: protocol headers exactly as the client sent them, the
 * route's static header present, the client's Authorization absent.
 */
import assert from 'node:assert/strict';
import type http from 'node:http';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { captureHeaders, mcpProxy, memorySessionStore, type SessionStore } from '../../lib/index.js';
import { captureLogger } from '../helpers/capture-logger.js';
import { listen, type Listening } from '../helpers/listen.js';
import { BACKEND_KINDS, eraBackend, type BackendKind, type EraBackend } from '../helpers/mcp-eras.js';
import {
  CLIENT_KINDS,
  MODERN_VERSION,
  eraClient,
  modernRequest,
  type ClientKind,
  type ClientLeg,
  type EraClient,
  type RawAnswer,
  type ToolResult,
} from '../helpers/mcp-eras-clients.js';
import { ELICITED, GREETING_TEXT, GREETING_URI, SAMPLED_TEXT } from '../helpers/mcp-eras-features.js';
import { sleep, waitFor, withTimeout } from '../helpers/wait.js';

const RELAY_STATIC = { 'x-relay-static': 'set-by-the-relay' } as const;
const CLIENT_AUTHORIZATION = 'Bearer client-token-must-not-travel';
const TOOL_NAMES = ['answer', 'ask', 'echo', 'slow', 'steps'];
/** `Zürich` as the v2 client mirrors it into Mcp-Param-Region. */
const ZURICH_HEADER = '=?base64?WsO8cmljaA==?=';
const SSE = 'text/event-stream';
const JSON_TYPE = 'application/json';
/** Per step; generous against a loaded CI machine, never reached when things work. */
const STEP_MS = 4000;

// ---------------------------------------------------------------------------------------------------
// The stack: three backends, one relay with a default, a bind and a pin route per backend.

interface Stack {
  backends: ReadonlyMap<BackendKind, EraBackend>;
  relay: Listening;
  /** The bind routes' stores, to see which sessions the relay recorded. */
  bindStores: ReadonlyMap<BackendKind, SessionStore>;
}

type RouteKind = 'default' | 'bind' | 'pin';

function routePath(route: RouteKind, backend: BackendKind): string {
  return route === 'default' ? `/${backend}` : `/${route}/${backend}`;
}

async function startStack(): Promise<Stack> {
  const backends = new Map<BackendKind, EraBackend>();
  for (const kind of BACKEND_KINDS) backends.set(kind, await eraBackend(kind));
  const bindStores = new Map<BackendKind, SessionStore>();
  const logger = captureLogger();
  const app = express();
  app.use(captureHeaders({ allow: ['x-mcp-api-key'], logger }));
  for (const [kind, backend] of backends) {
    const base = { target: backend.endpoint, headers: { plaintext: { ...RELAY_STATIC } }, logger };
    const store = memorySessionStore();
    bindStores.set(kind, store);
    app.use(routePath('bind', kind), mcpProxy({ ...base, session: { mode: 'bind', store, sessionKey: 'k'.repeat(32) } }));
    app.use(routePath('pin', kind), mcpProxy({ ...base, session: { mode: 'pin', principal: () => 'alice' } }));
    app.use(routePath('default', kind), mcpProxy(base));
  }
  return { backends, relay: await listen(app), bindStores };
}

async function stopStack(stack: Stack | undefined): Promise<void> {
  if (!stack) return;
  await stack.relay.close();
  for (const backend of stack.backends.values()) await backend.close();
}

// ---------------------------------------------------------------------------------------------------
// What a pair does directly, as the SDKs are built.

interface Pair {
  backend: BackendKind;
  client: ClientKind;
}

interface PairFacts {
  /** A client pinned to 2026-07-28 fails against a 2025-only server: server/discover gets 400. */
  connects: boolean;
  modern: boolean;
  /** A 2025 session with an id, a GET stream and DELETE: SDK v1, and the hybrid's legacy leg. */
  sessions: boolean;
}

function facts({ backend, client }: Pair): PairFacts {
  const modern = client === 'v2-2026';
  return { connects: !(modern && backend === 'v1'), modern, sessions: !modern && backend !== 'v2-stateless' };
}

// ---------------------------------------------------------------------------------------------------
// One scenario: a client runs the features in order; each step's outcome is recorded, not thrown, so
// a pair that fails directly can be compared with the same pair through the relay.

type Attempt<T = unknown> = { ok: T } | { error: string };

/** Error text without what differs between two runs: ids, ports, paths. */
function normalizeError(err: unknown): string {
  const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return message.replace(/http:\/\/127\.0\.0\.1:\d+\/\S*/g, '<url>').replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<uuid>');
}

async function attempt<T>(what: string, run: () => Promise<T>): Promise<Attempt<T>> {
  try {
    return { ok: await withTimeout(run(), what, STEP_MS) };
  } catch (err) {
    return { error: normalizeError(err) };
  }
}

function ok<T>(result: Attempt<T> | undefined, what: string): T {
  assert.ok(result, `${what}: not run`);
  if ('error' in result) assert.fail(`${what}: ${result.error}`);
  return result.ok;
}

interface Context {
  client: EraClient;
  backend: EraBackend;
  /** Unique per scenario: the slow tool's tag. */
  tag: string;
  /** bind routes: the route's session store. */
  store?: SessionStore;
}

/** The JSON-RPC method of a leg's body, `response` for a posted response, '' for none. */
function rpcOf(leg: ClientLeg): string {
  if (leg.body === '') return '';
  const message = JSON.parse(leg.body) as { method?: string };
  return message.method ?? 'response';
}

/** A leg as compared between direct and relay: what was sent and how it was answered. */
function describeLeg(leg: ClientLeg): string {
  return `${leg.method} ${rpcOf(leg)} -> ${leg.status ?? leg.error ?? 'pending'} ${leg.contentType ?? ''}`.trim();
}

/** Runs `call` and returns its value with the legs it sent (GET streams aside: they open on their own time). */
async function withLegs<T>(client: EraClient, call: () => Promise<T>): Promise<{ value: T; legs: ClientLeg[] }> {
  const from = client.legs.length;
  const value = await call();
  return { value, legs: client.legs.slice(from).filter((l) => l.method !== 'GET') };
}

const firstText = (result: ToolResult) => result.content?.[0]?.text;

async function echoStep(client: EraClient, region: string) {
  const { value, legs } = await withLegs(client, () => client.callTool('echo', { region, text: 'as sent' }));
  return { text: firstText(value), paramHeader: legs[0]?.headers['mcp-param-region'] ?? null, legs: legs.map(describeLeg) };
}

/** list_changed: on the GET stream in 2025 (which must be open first), on subscriptions/listen in 2026. */
async function listChangedStep({ client, backend }: Context) {
  const from = client.received.length;
  const subscription = await client.listen();
  try {
    if (client.era() === 'legacy') {
      await waitFor(() => client.legs.some((l) => l.method === 'GET' && (l.status ?? l.error) !== undefined), 'the GET stream answer');
      const get = client.legs.find((l) => l.method === 'GET')!;
      // No stream, nowhere to deliver: the stateless fallback answers GET with 405.
      if (get.status !== 200) return { stream: describeLeg(get) };
    }
    backend.notifyToolsChanged();
    await waitFor(() => client.received.slice(from).includes('tools/list_changed'), 'tools/list_changed');
    return { stream: client.era() === 'legacy' ? 'GET' : 'subscriptions/listen', delivered: true };
  } finally {
    await subscription.close();
  }
}

/**
 * Aborts a running `slow` call. 2025 clients POST notifications/cancelled: a session's server aborts the
 * handler before it answers 202, a stateless fallback cannot find the call. 2026 clients close the
 * response stream: the server aborts the handler when it sees the connection go.
 */
async function cancelStep({ client, backend, tag }: Context) {
  const controller = new AbortController();
  const call = client.callTool('slow', { tag }, { signal: controller.signal }).then(
    () => 'completed',
    () => 'rejected',
  );
  const from = client.legs.length;
  await waitFor(() => backend.events.of(tag).includes('started'), 'the slow tool to start');
  controller.abort();
  const settled = await call;
  const notification = () => client.legs.slice(from).find((l) => rpcOf(l) === 'notifications/cancelled');
  if (client.era() === 'legacy') {
    await waitFor(() => notification()?.status !== undefined, 'the answer to notifications/cancelled');
    // The answer was written after the server handled the notification; one turn for the backend's own records.
    await sleep(20);
  } else {
    await waitFor(() => backend.events.of(tag).includes('cancelled'), 'the backend to see the cancel');
  }
  return { call: settled, via: notification() ? 'notifications/cancelled' : 'stream closed', events: [...backend.events.of(tag)] };
}

async function askStep({ client }: Context) {
  const from = client.received.length;
  const result = await client.callTool('ask', {});
  return { text: firstText(result), isError: result.isError ?? false, received: client.received.slice(from) };
}

async function terminateStep({ client }: Context) {
  if (client.sessionId() === undefined) return 'no session';
  await client.terminate();
  return describeLeg(client.legs.filter((l) => l.method === 'DELETE').at(-1)!);
}

const connectFacts = (client: EraClient) => ({
  era: client.era(),
  protocolVersion: client.protocolVersion(),
  session: client.sessionId() !== undefined,
  discovered: client.discovered()?.supportedVersions ?? null,
});

type Step = (ctx: Context) => Promise<unknown>;

/** Everything a scenario covers, in the order it runs. */
const FULL_STEPS: Readonly<Record<string, Step>> = {
  tools: async ({ client }) => (await client.listTools()).sort(),
  echoPlain: ({ client }) => echoStep(client, 'eu-west-1'),
  echoNonAscii: ({ client }) => echoStep(client, 'Zürich'),
  answer: async ({ client }) => {
    const { value, legs } = await withLegs(client, () => client.callTool('answer', {}));
    return { structured: value.structuredContent, legs: legs.map(describeLeg) };
  },
  steps: async ({ client }) => {
    const from = client.received.length;
    const { value, legs } = await withLegs(client, () => client.callTool('steps', {}, { progress: true }));
    return { text: firstText(value), received: client.received.slice(from), legs: legs.map(describeLeg) };
  },
  resource: async ({ client }) => ((await client.readResource(GREETING_URI)) as { contents: { text?: string }[] }).contents[0]?.text,
  prompt: async ({ client }) =>
    ((await client.getPrompt('greet', { name: 'Ann' })) as { messages: { content: { text?: string } }[] }).messages[0]?.content.text,
  listChanged: listChangedStep,
  cancel: cancelStep,
  ask: askStep,
  terminate: terminateStep,
};

/** The bind and pin routes' share: a session's start, one call of each kind, its end. */
const SUBSET_STEPS: Readonly<Record<string, Step>> = {
  tools: FULL_STEPS.tools!,
  echoPlain: FULL_STEPS.echoPlain!,
  terminate: terminateStep,
};

/** How many sessions the bind route's store holds. */
const recordedSessions: Step = async ({ store }) => store!.size();

/** The subset, and what the bind route recorded while the session was open and after its end. */
const BIND_STEPS: Readonly<Record<string, Step>> = {
  tools: SUBSET_STEPS.tools!,
  echoPlain: SUBSET_STEPS.echoPlain!,
  recordedWhileOpen: recordedSessions,
  terminate: SUBSET_STEPS.terminate!,
  recordedAfterEnd: recordedSessions,
};

interface Scenario {
  key: string;
  legs: ClientLeg[];
  connect: Attempt;
  /** The requests connect() sent and their answers (GET streams aside). */
  connectLegs: string[];
  steps: Record<string, Attempt>;
  /** The slow tool's record once the client has closed. */
  afterClose: readonly string[];
}

let scenarioCount = 0;

function clientHeaders(key: string): Record<string, string> {
  return { 'x-mcp-api-key': key, authorization: CLIENT_AUTHORIZATION };
}

async function runScenario(stack: Stack, pair: Pair, url: string, steps: Readonly<Record<string, Step>>, store?: SessionStore): Promise<Scenario> {
  const key = `key-${pair.client}-${pair.backend}-${++scenarioCount}`;
  const client = eraClient(pair.client, url, clientHeaders(key));
  const ctx: Context = { client, backend: stack.backends.get(pair.backend)!, tag: key, store };
  const scenario: Scenario = { key, legs: client.legs, connect: { error: 'not run' }, connectLegs: [], steps: {}, afterClose: [] };
  try {
    scenario.connect = await attempt('connect', async () => {
      await client.connect();
      return connectFacts(client);
    });
    scenario.connectLegs = client.legs.filter((l) => l.method !== 'GET').map(describeLeg);
    if ('ok' in scenario.connect) {
      for (const [name, step] of Object.entries(steps)) scenario.steps[name] = await attempt(name, () => step(ctx));
    }
  } finally {
    await client.close();
  }
  scenario.afterClose = await slowAfterClose(ctx);
  return scenario;
}

/** A stateless 2025 server sees the cancel only when the client's close ends the call's stream. */
async function slowAfterClose({ backend, tag }: Context): Promise<readonly string[]> {
  const events = () => backend.events.of(tag);
  if (events().length === 0) return [];
  await waitFor(() => events().length > 1, 'the slow tool to end after close').catch(() => {});
  return [...events()];
}

// ---------------------------------------------------------------------------------------------------
// Checks on what reached the backend.

/** The headers the relay must copy unchanged: MCP's own and the body's framing type. */
function protocolHeaders(headers: Readonly<Record<string, string | string[] | undefined>>): Record<string, unknown> {
  const kept = Object.entries(headers).filter(([name]) => name.startsWith('mcp-') || name === 'last-event-id' || name === 'content-type' || name === 'accept');
  return Object.fromEntries(kept.sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * Every backend request of the scenario (found by its API key) is paired with the client request it
 * relays (same method and body) and must carry the same protocol headers, the relay's static header
 * and no Authorization; and every answer the client got came from the backend.
 */
function assertRelayedHeaders(backend: EraBackend, scenario: Scenario, what: string): void {
  const received = backend.requests.filter((r) => r.headers['x-mcp-api-key'] === scenario.key);
  assert.ok(received.length > 0, `${what}: the backend received the scenario's requests`);
  const unmatched = [...scenario.legs];
  for (const request of received) {
    const i = unmatched.findIndex((leg) => leg.method === request.method && leg.body === request.body);
    assert.notEqual(i, -1, `${what}: the backend received a ${request.method} ${request.body.slice(0, 80)} the client never sent`);
    const [leg] = unmatched.splice(i, 1);
    const name = `${what} ${describeLeg(leg!)}`;
    // fetch sends `Accept: */*` when the caller set none (Fetch standard), as on the SDKs' DELETE.
    const sent = { accept: '*/*', ...leg!.headers };
    assert.deepEqual(protocolHeaders(request.headers), protocolHeaders(sent), `${name}: protocol headers as the client sent them`);
    assert.equal(request.headers['x-relay-static'], RELAY_STATIC['x-relay-static'], `${name}: the route's static header`);
    assert.equal(request.headers.authorization, undefined, `${name}: the client's Authorization must not travel`);
  }
  const answeredByRelay = unmatched.filter((leg) => leg.status !== undefined).map(describeLeg);
  assert.deepEqual(answeredByRelay, [], `${what}: requests the relay answered itself instead of forwarding`);
}

/** Directly, the client's Authorization does reach the backend: its absence behind the relay is the relay's doing. */
function assertDirectCarriesAuthorization(backend: EraBackend, scenario: Scenario): void {
  const received = backend.requests.filter((r) => r.headers['x-mcp-api-key'] === scenario.key);
  assert.ok(received.length > 0);
  for (const request of received) assert.equal(request.headers.authorization, CLIENT_AUTHORIZATION);
}

// ---------------------------------------------------------------------------------------------------
// Expectations for the direct runs.

/** What `steps` sends before its result, in order. */
const STEPS_NOTIFICATIONS = ['progress 1/2', 'log step one done', 'progress 2/2'];

function assertDirectConnect(pair: Pair, direct: Scenario): void {
  const f = facts(pair);
  if (!f.connects) {
    assert.ok('error' in direct.connect, 'a pinned 2026 client cannot connect to a 2025-only server');
    assert.match(direct.connect.error, /Version negotiation failed.*2026-07-28/);
    assert.deepEqual(direct.connectLegs, [`POST server/discover -> 400 ${JSON_TYPE}`], 'the 2025 server refuses server/discover');
    return;
  }
  const handshake = f.modern ? [`POST server/discover -> 200 ${JSON_TYPE}`] : [`POST initialize -> 200 ${SSE}`, 'POST notifications/initialized -> 202'];
  assert.deepEqual(direct.connectLegs, handshake);
  assert.deepEqual(ok(direct.connect, 'connect'), {
    era: f.modern ? 'modern' : 'legacy',
    protocolVersion: f.modern ? MODERN_VERSION : '2025-11-25',
    session: f.sessions,
    discovered: f.modern ? [MODERN_VERSION] : null,
  });
}

function describePair(pair: Pair, getStack: () => Stack): void {
  const f = facts(pair);
  const route = (kind: RouteKind) => `${getStack().relay.url}${routePath(kind, pair.backend)}`;
  describe(`${pair.client} client -> ${pair.backend} backend`, () => {
    let direct: Scenario;
    let relayed: Scenario;
    let bound: Scenario;
    let pinned: Scenario;
    before(async () => {
      const stack = getStack();
      direct = await runScenario(stack, pair, stack.backends.get(pair.backend)!.endpoint, FULL_STEPS);
      relayed = await runScenario(stack, pair, route('default'), FULL_STEPS);
      bound = await runScenario(stack, pair, route('bind'), BIND_STEPS, stack.bindStores.get(pair.backend));
      pinned = await runScenario(stack, pair, route('pin'), SUBSET_STEPS);
    });
    /** Step `name` worked directly as `check` says, and through the relay exactly the same. */
    const same = (name: string, check: (value: unknown) => void) => {
      check(ok(direct.steps[name], `direct ${name}`));
      assert.deepEqual(relayed.steps[name], direct.steps[name], `${name}: through the relay as directly`);
    };

    it(f.connects ? 'connects in the expected era (2026: via server/discover)' : 'fails to connect, through the relay the same way', () => {
      assertDirectConnect(pair, direct);
      assert.deepEqual(relayed.connect, direct.connect);
      assert.deepEqual(relayed.connectLegs, direct.connectLegs);
    });

    it('every relayed request carried the protocol headers as sent and the static header, never Authorization', () => {
      const backend = getStack().backends.get(pair.backend)!;
      assertDirectCarriesAuthorization(backend, direct);
      assertRelayedHeaders(backend, relayed, 'default route');
      assertRelayedHeaders(backend, bound, 'bind route');
      assertRelayedHeaders(backend, pinned, 'pin route');
    });

    for (const [name, scenario] of [
      ['bind', () => bound],
      ['pin', () => pinned],
    ] as const) {
      it(`${name} route: connect, tools/list and tools/call as directly`, () => {
        assert.deepEqual(scenario().connect, direct.connect);
        assert.deepEqual(scenario().connectLegs, direct.connectLegs);
        for (const step of Object.keys(SUBSET_STEPS)) assert.deepEqual(scenario().steps[step], direct.steps[step], `${name} ${step}`);
      });
    }

    if (!f.connects) return;

    it(f.sessions ? 'bind route: the relay records the 2025 session and forgets it on DELETE' : 'bind route: the relay records nothing (no session id)', () => {
      assert.deepEqual(ok(bound.steps.recordedWhileOpen, 'recordedWhileOpen'), f.sessions ? 1 : 0);
      assert.deepEqual(ok(bound.steps.recordedAfterEnd, 'recordedAfterEnd'), 0);
    });

    it('tools/list', () => same('tools', (tools) => assert.deepEqual(tools, TOOL_NAMES)));

    it('tools/call answered with JSON where the server chooses it (2026), an event stream otherwise', () =>
      same('answer', (answer) => {
        // SDK 2025 transports answer every POST with an event stream unless built JSON-only.
        assert.deepEqual(answer, { structured: { answer: 42 }, legs: [`POST tools/call -> 200 ${f.modern ? JSON_TYPE : SSE}`] });
      }));

    it('tools/call answered as an event stream: progress and logging arrive before the result', () =>
      same('steps', (steps) => {
        assert.deepEqual(steps, { text: 'steps done', received: STEPS_NOTIFICATIONS, legs: [`POST tools/call -> 200 ${SSE}`] });
      }));

    it(
      f.modern ? 'Mcp-Param-Region: a plain value, and the base64 form of a non-ASCII one' : 'echo with a header-mirrored argument (no Mcp-Param-* in 2025)',
      () => {
        same('echoPlain', (echo) => {
          assert.deepEqual(echo, {
            text: '{"region":"eu-west-1","text":"as sent"}',
            paramHeader: f.modern ? 'eu-west-1' : null,
            legs: [`POST tools/call -> 200 ${f.modern ? JSON_TYPE : SSE}`],
          });
        });
        same('echoNonAscii', (echo) => {
          assert.deepEqual(echo, {
            text: '{"region":"Zürich","text":"as sent"}',
            paramHeader: f.modern ? ZURICH_HEADER : null,
            legs: [`POST tools/call -> 200 ${f.modern ? JSON_TYPE : SSE}`],
          });
        });
      },
    );

    it('resources/read and prompts/get', () => {
      same('resource', (text) => assert.equal(text, GREETING_TEXT));
      same('prompt', (text) => assert.equal(text, 'Hello, Ann'));
    });

    it(f.modern || f.sessions ? 'list_changed is delivered' : 'list_changed has no stream to travel on (GET answered 405)', () =>
      same('listChanged', (outcome) => {
        if (f.modern) assert.deepEqual(outcome, { stream: 'subscriptions/listen', delivered: true });
        else if (f.sessions) assert.deepEqual(outcome, { stream: 'GET', delivered: true });
        else assert.deepEqual(outcome, { stream: `GET  -> 405 ${JSON_TYPE}` });
      }),
    );

    it(
      f.modern || f.sessions
        ? 'cancelling a call: the backend sees the cancel'
        : 'cancelling a call: the stateless backend sees it only when the client closes',
      () => {
        same('cancel', (outcome) => {
          const via = f.modern ? 'stream closed' : 'notifications/cancelled';
          const events = f.modern || f.sessions ? ['started', 'cancelled'] : ['started'];
          assert.deepEqual(outcome, { call: 'rejected', via, events });
        });
        assert.deepEqual(direct.afterClose, ['started', 'cancelled']);
        assert.deepEqual(relayed.afterClose, direct.afterClose, 'after close, through the relay as directly');
      },
    );

    it(f.modern || f.sessions ? 'server->client requests: sampling and elicitation' : 'server->client requests: refused by the stateless 2025 fallback', () =>
      same('ask', (outcome) => {
        const { text, isError, received } = outcome as { text: string; isError: boolean; received: string[] };
        if (f.modern || f.sessions) {
          assert.deepEqual({ isError, received }, { isError: false, received: ['sampling', 'elicitation'] });
          assert.deepEqual(JSON.parse(text), { sampled: { type: 'text', text: SAMPLED_TEXT }, elicited: ELICITED });
        } else {
          assert.deepEqual({ isError, received }, { isError: true, received: [] });
          assert.match(text, /per-request legacy serving cannot receive server-to-client requests/);
        }
      }),
    );

    it(f.sessions ? 'DELETE ends the session' : 'no session to end', () =>
      same('terminate', (outcome) => assert.equal(outcome, f.sessions ? 'DELETE  -> 200' : 'no session')),
    );
  });
}

// ---------------------------------------------------------------------------------------------------

describe('e2e: both MCP eras, every SDK client against every SDK backend, directly and through the relay', () => {
  let stack: Stack | undefined;
  before(async () => {
    stack = await startStack();
  });
  after(async () => {
    await stopStack(stack);
  });
  const getStack = () => stack!;

  for (const backend of BACKEND_KINDS) {
    for (const client of CLIENT_KINDS) describePair({ backend, client }, getStack);
  }

  describe('hand-made 2026-07-28 requests the SDK client does not send', () => {
    for (const kind of ['v2-stateless', 'v2-hybrid'] as const) describeRawModern(kind, getStack);
  });
});

interface RawEcho {
  answer: RawAnswer;
  /** The headers of the one request the backend got, or undefined if nothing arrived. */
  seen: http.IncomingHttpHeaders | undefined;
}

/** A raw 2026 tools/call of `echo` with `Mcp-Param-Region: region`, directly and through `route`. */
async function echoBothWays(stack: Stack, kind: BackendKind, route: RouteKind, region: string, extra: Record<string, string> = {}) {
  const backend = stack.backends.get(kind)!;
  const send = async (url: string): Promise<RawEcho> => {
    const key = `raw-${kind}-${++scenarioCount}`;
    const answer = await modernRequest(
      url,
      'tools/call',
      { name: 'echo', arguments: { region } },
      { 'mcp-param-region': region, 'x-mcp-api-key': key, ...extra },
    );
    const seen = backend.requests.filter((r) => r.headers['x-mcp-api-key'] === key);
    assert.ok(seen.length <= 1, 'the backend received the request at most once');
    return { answer, seen: seen[0]?.headers };
  };
  return { direct: await send(backend.endpoint), relayed: await send(`${stack.relay.url}${routePath(route, kind)}`) };
}

/** The relay's answer is the backend's, byte for byte; a failure shows the start of it, not 9000 characters. */
function assertSameAnswer(relayed: RawAnswer, direct: RawAnswer): void {
  const head = (a: RawAnswer) => `${a.status} ${a.contentType} ${a.body.slice(0, 200)}`;
  assert.equal(head(relayed), head(direct), 'the relay answer equals the direct one');
  assert.ok(relayed.body === direct.body, 'the relay answer body equals the direct one');
}

function assertEchoed(answer: RawAnswer, region: string): void {
  assert.equal(answer.status, 200, answer.body.slice(0, 300));
  const body = JSON.parse(answer.body) as { result: { content: { text: string }[] } };
  assert.deepEqual(JSON.parse(body.result.content[0]!.text), { region, text: null });
}

function describeRawModern(kind: BackendKind, getStack: () => Stack): void {
  describe(`${kind} backend`, () => {
    const cases = [
      ['an empty Mcp-Param-Region with the argument ""', ''],
      ['a 9000-character ASCII Mcp-Param-Region (protocol headers are not held to maxValueLength)', 'r'.repeat(9000)],
    ] as const;
    for (const [title, region] of cases) {
      it(`${title} is forwarded exactly as sent`, async () => {
        const { direct, relayed } = await echoBothWays(getStack(), kind, 'default', region);
        assertEchoed(direct.answer, region);
        assert.equal(direct.seen?.['mcp-param-region'], region);
        assertSameAnswer(relayed.answer, direct.answer);
        assert.equal(relayed.seen?.['mcp-param-region'], region, 'the backend got the header as sent');
        assert.equal(relayed.seen['mcp-method'], 'tools/call');
        assert.equal(relayed.seen['mcp-name'], 'echo');
      });
    }
    for (const route of ['bind', 'pin'] as const) {
      it(`${route} route: a 2026 request is forwarded on its own, a stray Mcp-Session-Id stripped`, async () => {
        const stack = getStack();
        const recorded = await stack.bindStores.get(kind)!.size();
        const { direct, relayed } = await echoBothWays(stack, kind, route, 'eu-west-1', { 'mcp-session-id': 'stray-session-id' });
        // The 2026 server ignores the id itself.
        assertEchoed(direct.answer, 'eu-west-1');
        assertSameAnswer(relayed.answer, direct.answer);
        assert.ok(relayed.seen, 'the request reached the backend');
        assert.equal(relayed.seen['mcp-session-id'], undefined, 'the stray session id is not forwarded');
        if (route === 'bind') assert.equal(await stack.bindStores.get(kind)!.size(), recorded, 'no session recorded');
      });
    }

    it('a raw non-ASCII Mcp-Param value is refused with 400 and not forwarded', async () => {
      // fetch sends the string's Latin-1 bytes. Directly, the v2 server takes them (Node reads header
      // bytes as Latin-1, which then equals the argument); the spec asks for the =?base64?…?= form.
      const { relayed } = await echoBothWays(getStack(), kind, 'default', 'Zürich');
      assert.equal(relayed.answer.status, 400);
      assert.equal((JSON.parse(relayed.answer.body) as { error: { data: { reason: string } } }).error.data.reason, 'invalid_header_value');
      assert.equal(relayed.seen, undefined, 'nothing reached the backend');
    });
  });
}
