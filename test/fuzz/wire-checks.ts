/**
 * The assertions of the request property. For a request that reached the backend: what is on the
 * wire (names, bytes, values, framing) and that the docs did not require a refusal. For one that did
 * not: the client got a JSON-RPC error from the relay or Node's own bare 4xx, never a stray 200.
 */
import assert from 'node:assert/strict';
import type { WireRequest } from '../helpers/raw-backend.js';
import { VALUE_SENTINEL } from './arbitraries.js';
import type { Outcome, Reply } from './client.js';
import { SECRET_VALUE, STATIC_VALUE } from './gateway.js';
import type { FuzzRequest } from './request-arbitraries.js';
import { requestTarget } from './request-bytes.js';
import { clientLines, expectedValue, isValidValue, linesNamed, refusalReason } from './request-model.js';
import { NAME_CHARS, isProtocol } from './rules-model.js';
import { ALLOWLISTED, STATIC_NAMES } from './request-arbitraries.js';

/** Names the relay itself puts on an upstream request (framing and connection management). */
const RELAY_NAMES = ['host', 'connection', 'content-length', 'transfer-encoding'];

/** A latin1 string for a message, every byte outside visible ASCII and space spelled out as \xHH. */
const show = (s: string): string =>
  [...s.slice(0, 120)].map((c) => (/[\x20-\x7e]/.test(c) ? c : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)).join('');

function assertWireBytes(wire: WireRequest): void {
  for (const [name, value] of wire.lines) {
    assert.ok(name.length > 0 && [...name].every((c) => NAME_CHARS.includes(c)), `forwarded a line whose name is not a token: ${show(name)}`);
    // The value starts after the colon: one SP from Node, then the value itself.
    assert.ok(isValidValue(value.slice(1), Infinity) && value.startsWith(' '), `forwarded ${name} with a byte outside visible ASCII/SP/HTAB: ${show(value)}`);
  }
}

/** Every name on the wire is one the relay sets, a static one, or one the client sent that may pass. */
function assertWireNames(request: FuzzRequest, wire: WireRequest): Set<string> {
  const sent = new Set(clientLines(request).map((l) => l.name));
  const seen = new Set<string>();
  for (const [raw] of wire.lines) {
    const name = raw.toLowerCase();
    assert.ok(!seen.has(name), `forwarded ${name} on more than one line`);
    seen.add(name);
    const mayPass = RELAY_NAMES.includes(name) || STATIC_NAMES.includes(name) || ((ALLOWLISTED.includes(name) || isProtocol(name)) && sent.has(name));
    assert.ok(mayPass, `forwarded ${name}, which is neither allowlisted, static, protocol nor framing`);
  }
  return seen;
}

function assertWireValues(request: FuzzRequest, wire: WireRequest, backendPort: number): void {
  const value = (name: string): string | undefined => wire.lines.find(([n]) => n.toLowerCase() === name)?.[1].slice(1);
  assert.equal(value('host'), `127.0.0.1:${backendPort}`, 'Host must be the target');
  assert.match(value('connection') ?? 'keep-alive', /^(keep-alive|close)$/, 'the client Connection header must not be forwarded');
  assert.equal(value('x-static'), STATIC_VALUE, 'the static header must carry the configured value');
  assert.equal(value('x-backend-auth'), SECRET_VALUE, 'the secret header must carry the secret');
  const te = value('transfer-encoding');
  assert.ok(te === undefined || te === 'chunked', `transfer-encoding ${show(te ?? '')}`);
  assert.ok(te === undefined || value('content-length') === undefined, 'both Content-Length and Transfer-Encoding');
  if (value('content-length') !== undefined) assert.equal(value('content-length'), String(wire.body.length), 'content-length must match the body');
  const lines = clientLines(request);
  for (const name of [...ALLOWLISTED, ...new Set(lines.map((l) => l.name))]) {
    const expected = expectedValue(lines, name);
    if (expected !== undefined) assert.equal(value(name), expected, `${name}: the client's one valid value must be forwarded unchanged`);
    else if (ALLOWLISTED.includes(name) && linesNamed(lines, name).length !== 1)
      assert.equal(value(name), undefined, `${name} forwarded without one line to take it from`);
  }
}

export function assertReached(request: FuzzRequest, id: string, wire: WireRequest, outcome: Outcome, backendPort: number, split = false): void {
  if (split) assertSplitOutcome(outcome);
  else {
    assert.equal(outcome.kind, 'reply', 'the backend answered, the client got nothing');
    const reply = (outcome as { reply: Reply }).reply;
    assert.equal(reply.status, 200, `the backend's 200 became ${reply.status}`);
    assert.equal(reply.body.toString('latin1'), '{"ok":true}');
  }
  const query = request.target === 'query' ? '?q=1' : '';
  assert.equal(wire.requestLine, `${request.method} /mcp/${id}${query} HTTP/1.1`, 'upstream request line');
  assertWireBytes(wire);
  const forwarded = assertWireNames(request, wire);
  assertWireValues(request, wire, backendPort);
  const reason = refusalReason(request, forwarded);
  assert.equal(reason, undefined, `forwarded although the docs require a refusal: ${reason}`);
  assert.ok(!wire.requestLine.includes('evil.test'), `absolute-form target leaked upstream: ${requestTarget(request, id)}`);
}

/**
 * The bytes held a second, malformed request after a head that ended early: the client sees the
 * backend's 200, or Node's own bare 400 for the second request (written at once), or a closed socket.
 */
function assertSplitOutcome(outcome: Outcome): void {
  if (outcome.kind === 'closed') return;
  const { reply } = outcome;
  if (reply.status === 200) assert.equal(reply.body.toString('latin1'), '{"ok":true}');
  else {
    assert.equal(reply.status, 400, `a split request was answered ${reply.status}`);
    assert.equal(reply.body.toString('latin1'), '', "Node's own 400 carries no body");
  }
}

/** How a request that never reached the backend was answered, for the run's statistics. */
export function assertNotReached(outcome: Outcome): string {
  if (outcome.kind === 'closed') return 'closed without a response';
  const { reply } = outcome;
  assert.notEqual(reply.status, 200, 'a 200 for a request the backend never saw');
  const body = reply.body.toString('latin1');
  assert.ok(!body.includes(VALUE_SENTINEL), `the response echoes a header value: ${show(body)}`);
  if (!/^application\/json/.test(reply.headers['content-type'] ?? '')) {
    // Node's parser answered before any relay code ran: a bare status, no body.
    assert.ok([400, 417, 431].includes(reply.status), `unexpected non-JSON ${reply.status}`);
    assert.equal(body, '', `Node's own ${reply.status} carries no body`);
    return `node ${reply.status}`;
  }
  const parsed = JSON.parse(body) as { jsonrpc?: unknown; id?: unknown; error?: { code?: unknown; message?: unknown; data?: { reason?: unknown } } };
  assert.equal(parsed.jsonrpc, '2.0');
  assert.equal(parsed.id, null);
  assert.equal(parsed.error?.code, -32000);
  assert.equal(typeof parsed.error?.message, 'string');
  assert.ok(
    [400, 403, 405, 431].includes(reply.status),
    `relay answered ${reply.status} (${String(parsed.error?.data?.reason)}): only a client error is expected`,
  );
  return `relay ${reply.status} ${String(parsed.error?.data?.reason)}`;
}
