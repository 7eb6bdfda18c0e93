/**
 * `npm run bench:profile -- <setup> [seconds]`: where one gateway setup spends its CPU. Starts the
 * backend and the gateway, warms up, then drives the same keep-alive POST load as the throughput
 * figure while the gateway records a CPU profile of that window only, and prints CPU per request split
 * by who spends it (the relay's own code, http-proxy-middleware, httpxy, Express, Node) and the
 * functions with the most self time. The `.cpuprofile` stays in .bench-results/ for Chrome DevTools.
 */
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ask, runChild, startChild } from './process.js';
import type { LoadResult } from './results.js';
import { CALL_BODY, CLIENT_HEADERS, INIT_BODY, SETUPS, type Setup } from './setups.js';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [setup = 'relay-request', secondsArg = '10'] = process.argv.slice(2) as [Setup?, string?];
if (!SETUPS.includes(setup) || setup === 'direct') throw new Error(`usage: profile.ts <${SETUPS.filter((s) => s !== 'direct').join('|')}> [seconds]`);
const seconds = Number(secondsArg);
const dir = fileURLToPath(new URL('../.bench-results/', import.meta.url));
const file = path.join(dir, `profile-${setup}-${Date.now()}.cpuprofile`);

/** Who a frame belongs to, by its script URL. */
function owner(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (!url) return functionName.startsWith('(') ? functionName : 'V8/native';
  if (url.includes('/dist/') && !url.includes('node_modules')) return 'relay (dist/)';
  for (const pkg of ['http-proxy-middleware', 'httpxy', 'express', 'router', 'debug', 'tsx']) if (url.includes(`/node_modules/${pkg}/`)) return pkg;
  if (url.includes('/node_modules/')) return 'other packages';
  if (url.startsWith('node:')) return 'node core (JS)';
  return 'bench harness';
}

function summarize(profile: CpuProfile, requests: number): void {
  const byId = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const self = new Map<string, number>();
  const owners = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const frame = byId.get(id)!;
    const micros = profile.timeDeltas[i] ?? 0;
    const key = `${frame.functionName || '(anonymous)'}  ${frame.url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${frame.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + micros);
    owners.set(owner(frame), (owners.get(owner(frame)) ?? 0) + micros);
  });
  const busy = [...owners].filter(([name]) => name !== '(idle)').reduce((sum, [, us]) => sum + us, 0);
  const per = (us: number): string => (us / requests).toFixed(1).padStart(7);
  console.log(`\n${setup}: ${requests} requests, ${per(busy)} us of gateway CPU per request (sampled, idle excluded)\n`);
  console.log('us/req  owner');
  for (const [name, us] of [...owners].sort((a, b) => b[1] - a[1])) if (name !== '(idle)') console.log(`${per(us)}  ${name}`);
  console.log('\nus/req  function (self time), top 30');
  for (const [name, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 30)) if (!name.startsWith('(idle)')) console.log(`${per(us)}  ${name}`);
}

await mkdir(dir, { recursive: true });
const backend = await startChild<{ port: number }>('backend.ts');
const gateway = await startChild<{ port: number }>('gateway.ts', [setup, `http://127.0.0.1:${backend.hello.port}`]);
try {
  const url = `http://127.0.0.1:${gateway.hello.port}/mcp`;
  const init = await fetch(url, { method: 'POST', headers: CLIENT_HEADERS, body: INIT_BODY });
  await init.arrayBuffer();
  const headers = { ...CLIENT_HEADERS, 'mcp-session-id': init.headers.get('mcp-session-id') ?? '' };
  const load = { url, method: 'POST', headers, body: CALL_BODY, connections: 32 };
  await runChild<LoadResult>('load.ts', { ...load, seconds: 3 });
  await ask(gateway.process, { cmd: 'profile-start' });
  const result = await runChild<LoadResult>('load.ts', { ...load, seconds });
  await ask(gateway.process, { cmd: 'profile-stop', file });
  summarize(JSON.parse(await readFile(file, 'utf8')) as CpuProfile, result.requests);
  console.log(`\nprofile: ${file}`);
} finally {
  await gateway.stop();
  await backend.stop();
}
