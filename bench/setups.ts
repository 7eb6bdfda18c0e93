/** The setups every figure compares, in the order of the first round (the second runs them reversed). */
export const SETUPS = ['direct', 'express', 'hpm', 'relay-request', 'relay-bind', 'relay-bind-redis', 'relay-identity'] as const;
export type Setup = (typeof SETUPS)[number];

/** Setups that forward, so they also stream SSE (Express alone only answers). */
export const STREAMING_SETUPS: readonly Setup[] = ['direct', 'hpm', 'relay-request', 'relay-bind'];

/** What a client of the relay sends: the two captured headers, plus one the relay must not forward. */
export const CLIENT_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  'x-mcp-api-key': 'bench-user-key-0123456789abcdef',
  'x-tenant': 'acme',
  authorization: 'Bearer bench-gateway-token',
};

export const CALL_BODY = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{}}}';
export const INIT_BODY =
  '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}';
