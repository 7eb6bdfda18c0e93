/**
 * `serve --demo`: two local SDK backends and a gateway in front of them, from a built-in file, so one
 * command shows the relay at work on a fresh machine. The configuration is printed as the YAML it is,
 * ready to copy into a file of one's own.
 */
import { parseConfig, type GatewayConfig } from './config-file.js';
import { startDemoBackends, type DemoBackend } from './demo-backends.js';

/** A stand-in for the secret a deployment would inject; used only when the variable is not set. */
export const DEMO_SECRET_VARIABLE = 'RELAY_DEMO_API_KEY';
const DEMO_SECRET = 'demo-secret-not-a-real-key';
export const DEMO_PORT = 8787;

export interface Demo {
  readonly config: GatewayConfig;
  readonly yaml: string;
  close(): Promise<void>;
}

export function demoYaml(port: number, projects: string, search: string): string {
  return `# mcp-header-relay serve --demo: the built-in configuration
listen: { host: 127.0.0.1, port: ${port} }
capture:
  allow: [x-mcp-api-key, x-tenant]   # client headers the gateway reads; everything else is never forwarded
routes:
  - path: /projects
    name: projects
    target: ${projects}
    passthrough: [x-mcp-api-key]     # the caller's key goes on; x-tenant does not
    headers:
      plaintext: { X-MCP-Toolsets: projects }
      fromSecret: { X-Api-Key: ${DEMO_SECRET_VARIABLE} }   # read from the environment
    session: bind                    # a session continues only with the headers it began with
  - path: /search
    name: search
    target: ${search}
    passthrough: [x-mcp-api-key, x-tenant]
`;
}

/** Starts the backends and makes the configuration; the caller serves it. */
export async function startDemo(port: number): Promise<Demo> {
  process.env[DEMO_SECRET_VARIABLE] ??= DEMO_SECRET;
  const backends = await startDemoBackends();
  const yaml = demoYaml(port, backends.projects.url, backends.search.url);
  // The built-in file is valid (the tests check it with `check`); were it not, the command would exit at once.
  return { config: parseConfig(yaml, '(demo configuration)', process.cwd()), yaml, close: () => closeAll([backends.projects, backends.search]) };
}

async function closeAll(backends: readonly DemoBackend[]): Promise<void> {
  await Promise.all(backends.map((b) => b.close()));
}

/** What to try once the demo listens: a plain HTTP call to the stateless route, and an MCP client for the other. */
export function demoInstructions(url: string): string {
  return `
Try it:
  curl -s ${url}/search/mcp \\
    -H 'content-type: application/json' -H 'accept: application/json, text/event-stream' \\
    -H 'x-mcp-api-key: my-key' -H 'x-tenant: acme' -H 'authorization: Bearer not-forwarded' \\
    -d '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":{}}}'
  (the search backend names the headers it received: x-mcp-api-key and x-tenant, not authorization)

  Any MCP client (e.g. npx @modelcontextprotocol/inspector) on ${url}/projects/mcp with header
  x-mcp-api-key: the projects backend also gets X-MCP-Toolsets and X-Api-Key from the gateway.

Ctrl-C stops the demo.`;
}
