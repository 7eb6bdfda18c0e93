/**
 * Requests and assertions of the session suites (test/security/e-sessions and i-sessions): an MCP
 * initialize or ping over a raw socket through a security gateway, the relay's own 404, a forwarded
 * request, and a session store that counts its calls (and can stall).
 */
import assert from 'node:assert/strict';
import { memorySessionStore, type SessionStore } from '../../lib/index.js';
import type { RawResponse } from './raw-http.js';
import type { RecordedRequest } from './recording-backend.js';
import { SENTINEL, SENTINEL_KEY, SENTINEL_TENANT, assertNoLeak, wireValues, type SecRelay } from './sec-relay.js';

/** The SDK server transport's answer for an unknown session, byte for byte. */
export const NOT_FOUND_BODY = '{"jsonrpc":"2.0","error":{"code":-32001,"message":"Session not found"},"id":null}';

/** Principals (X-User, never captured nor forwarded) and captured values all carry the sentinel. */
export const ALICE = `${SENTINEL}-user-alice`;
export const MALLORY = `${SENTINEL}-user-mallory`;
export const ATTACKER_KEY = `${SENTINEL}-apikey-attacker-0000`;
/** The victim's requests: principal alice, her key and tenant. */
export const VICTIM = [`X-User: ${ALICE}`, `X-Mcp-Api-Key: ${SENTINEL_KEY}`, `X-Tenant: ${SENTINEL_TENANT}`];

export const PING = '{"jsonrpc":"2.0","method":"ping","id":2}';
export const INITIALIZE = JSON.stringify({
  jsonrpc: '2.0',
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } },
  id: 1,
});

/** A gateway and the session-minting backend behind it (its ids, in the order minted). */
export interface SessionGateway {
  r: SecRelay;
  mcp: { readonly minted: readonly string[] };
}

/** One MCP request over a raw socket: an initialize (no id) or a ping on session `id`; or a GET/DELETE. */
export function call(g: SessionGateway, headers: string[], options: { id?: string; method?: 'POST' | 'GET' | 'DELETE' } = {}): Promise<RawResponse> {
  const { id, method = 'POST' } = options;
  const lines = [...headers, ...(id === undefined ? [] : [`Mcp-Session-Id: ${id}`])];
  if (method !== 'POST') return g.r.send(['Accept: text/event-stream', ...lines], { method });
  return g.r.send(['Content-Type: application/json', 'Accept: application/json, text/event-stream', ...lines], {
    method,
    body: id === undefined ? INITIALIZE : PING,
  });
}

/** An initialize answered 200 with the id the backend minted, passed through unchanged. */
export async function open(g: SessionGateway, headers: string[]): Promise<string> {
  const before = g.mcp.minted.length;
  const res = await call(g, headers);
  assert.equal(res.status, 200, `initialize: ${res.raw.slice(0, 300)}`);
  assert.equal(g.mcp.minted.length, before + 1);
  const id = g.mcp.minted.at(-1)!;
  assert.equal(res.headers['mcp-session-id'], id, 'the backend id passes through unchanged');
  return id;
}

/** The relay's own 404: the SDK body byte for byte, nothing forwarded, no value or id in the answer or log. */
export function assertRelay404(g: SessionGateway, res: RawResponse, backendBefore: number, values: string[] = []): void {
  assert.equal(res.status, 404, `expected the relay's 404, got: ${res.raw.slice(0, 300)}`);
  assert.equal(res.body, NOT_FOUND_BODY);
  assert.match(res.headers['content-type'] ?? '', /^application\/json/);
  assert.equal(g.r.backend.requests.length, backendBefore, 'a request the relay refused must not reach the backend');
  assertNoLeak(res, g.r, [...values, ...g.mcp.minted]);
}

/** A request the backend answered 200 on session `id`; returns what the backend received. */
export function assertForwarded(g: SessionGateway, res: RawResponse, backendBefore: number, id: string): RecordedRequest {
  assert.equal(res.status, 200, `expected forwarding, got: ${res.raw.slice(0, 300)}`);
  assert.equal(g.r.backend.requests.length, backendBefore + 1);
  const got = g.r.backend.last();
  assert.deepEqual(wireValues(got, 'mcp-session-id'), [id]);
  return got;
}

export interface CountingStore extends SessionStore {
  readonly inner: SessionStore;
  readonly calls: { get: number; set: number; delete: number; size: number };
  /** Keys passed to set(), in order. */
  readonly setKeys: string[];
  /** The inner store's size (not counted). */
  entries(): number;
}

/**
 * Delegates to `inner` (default memorySessionStore()) and counts every call; the operations named in
 * `hang` return a promise that never settles instead (a shared store whose connection stalls).
 */
export function countingStore(options: { inner?: SessionStore; hang?: readonly ('get' | 'size')[] } = {}): CountingStore {
  const { inner = memorySessionStore(), hang = [] } = options;
  const calls = { get: 0, set: 0, delete: 0, size: 0 };
  const setKeys: string[] = [];
  const never = (): Promise<never> => new Promise<never>(() => {});
  return {
    inner,
    calls,
    setKeys,
    entries: () => inner.size() as number,
    get(key) {
      calls.get++;
      return hang.includes('get') ? never() : inner.get(key);
    },
    set(key, value, ttl) {
      calls.set++;
      setKeys.push(key);
      return inner.set(key, value, ttl);
    },
    delete(key) {
      calls.delete++;
      return inner.delete(key);
    },
    size() {
      calls.size++;
      return hang.includes('size') ? never() : inner.size();
    },
  };
}
