/** What the parts of a run share: a gateway process for a setup, and a session opened through it. */
import { startChild, type Child } from './process.js';
import { CLIENT_HEADERS, INIT_BODY, type Setup } from './setups.js';

export type Gateway = Child<{ port: number }>;

/** `args` after the backend URL: see bench/gateway.ts. */
export async function startGateway(setup: Setup, backendUrl: string, args: string[] = []): Promise<Gateway | undefined> {
  if (setup === 'direct') return undefined;
  return startChild('gateway.ts', [setup, backendUrl, ...args], ['--expose-gc']);
}

/** Headers of a request inside a session the setup itself opened, so bind mode has a record to match. */
export async function sessionHeaders(url: string): Promise<Record<string, string>> {
  const res = await fetch(url, { method: 'POST', headers: CLIENT_HEADERS, body: INIT_BODY });
  await res.arrayBuffer();
  const id = res.headers.get('mcp-session-id');
  if (res.status !== 200 || !id) throw new Error(`initialize through ${url} failed: ${res.status}`);
  return { ...CLIENT_HEADERS, 'mcp-session-id': id };
}
