#!/usr/bin/env node
/**
 * The `mcp-header-relay` command: `serve --config FILE`, `check FILE`, `explain FILE --route NAME
 * --header 'Name: value'`, `schema` (the file's JSON Schema). Arguments with node:util parseArgs; exit 0 on success, 1 when the file or
 * the gateway fails (the message on stderr), 2 for a usage error. Not part of the library's entry point.
 */
import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { formatExplanation } from '../explain-format.js';
import { closeRoutes } from '../lifecycle.js';
import { buildGateway, type BuiltGateway } from './build-routes.js';
import { loadConfigFile, type GatewayConfig } from './config-file.js';
import { relayConfigJsonSchema } from './config-json-schema.js';
import { startGateway } from './gateway.js';
import { announce, cliLogger, describeGateway } from './output.js';

const USAGE = `Usage:
  mcp-header-relay serve --config FILE      run the gateway a YAML file describes
  mcp-header-relay check FILE               validate FILE and print the effective routes
  mcp-header-relay explain FILE --route NAME [--header 'Name: value' ...] [--method M] [--path P] [--reveal]
                                            what the route's backend would receive for such a request
                                            (Host defaults to the listen address; --route takes a name or mount path)
  mcp-header-relay schema                   print the JSON Schema of the file (for editor completion)
  mcp-header-relay --help | --version

serve needs express installed next to mcp-header-relay (and prom-client for /metrics).
See docs/gateway.md for the file format.`;

class UsageError extends Error {}

const COMMANDS = ['serve', 'check', 'explain', 'schema'] as const;
type Command = (typeof COMMANDS)[number];

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === '--help' || command === '-h' || command === 'help') return print(USAGE, 0);
  if (command === '--version' || command === '-v') return print(version(), 0);
  if (command === undefined || !(COMMANDS as readonly string[]).includes(command)) {
    throw new UsageError(command === undefined ? 'no command given' : `unknown command "${command}"`);
  }
  if (rest.includes('--help') || rest.includes('-h')) return print(USAGE, 0);
  switch (command as Command) {
    case 'serve': {
      const { values } = parse('serve', rest, { config: { type: 'string', short: 'c' } }, false);
      return serve(requireValue(values.config, '--config FILE'));
    }
    case 'check':
      return check(onePositional(parse('check', rest, {}, true).positionals));
    case 'explain': {
      const options = {
        route: { type: 'string' },
        header: { type: 'string', short: 'H', multiple: true },
        method: { type: 'string' },
        path: { type: 'string' },
        reveal: { type: 'boolean' },
      } as const;
      const { values, positionals } = parse('explain', rest, options, true);
      return explain(onePositional(positionals), values);
    }
    case 'schema':
      parse('schema', rest, {}, false);
      return print(JSON.stringify(relayConfigJsonSchema(), null, 2), 0);
  }
}

function parse<O extends NonNullable<ParseArgsConfig['options']>>(name: Command, args: string[], options: O, allowPositionals: boolean) {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true });
  } catch (error) {
    throw new UsageError(`${name}: ${(error as Error).message}`);
  }
}

function check(file: string): number {
  const config = loadConfigFile(file);
  const built = buildGateway(config, { logger: cliLogger({ info: false }) });
  console.log(describeGateway(config, built.routes));
  release(built);
  return 0;
}

interface ExplainArgs {
  route?: string | undefined;
  header?: string[] | undefined;
  method?: string | undefined;
  path?: string | undefined;
  reveal?: boolean | undefined;
}

async function explain(file: string, args: ExplainArgs): Promise<number> {
  const routeName = requireValue(args.route, '--route NAME');
  const headers = parseHeaders(args.header ?? []);
  const config = loadConfigFile(file);
  const built = buildGateway(config, { logger: cliLogger({ info: false }) });
  try {
    const found = built.routes.find((r) => r.route.name === routeName || r.config.path === routeName);
    if (!found) {
      const known = built.routes.map((r) => `${r.route.name} (${r.config.path})`).join(', ');
      console.error(`${file}: no route named ${routeName}; routes: ${known}`);
      return 1;
    }
    // A client always sends Host: without one given, the listener's own address, as a local client would send it.
    if (!Object.keys(headers).some((name) => name.toLowerCase() === 'host')) headers.host = hostOf(config);
    const localAddress = WILDCARD.has(config.listen.host) ? undefined : config.listen.host;
    const input = { headers, method: args.method, path: args.path, capture: built.capture, reveal: args.reveal ?? false, localAddress };
    const result = await found.route.explain(input);
    console.log(formatExplanation(result));
    return 0;
  } finally {
    release(built);
  }
}

const WILDCARD = new Set(['0.0.0.0', '::', '']);

function hostOf({ listen }: GatewayConfig): string {
  const host = WILDCARD.has(listen.host) ? '127.0.0.1' : listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  return listen.port === 0 ? host : `${host}:${listen.port}`;
}

/** `Name: value` lines; a name given twice is a header sent twice. */
function parseHeaders(lines: readonly string[]): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new UsageError(`explain: --header must be 'Name: value' (got a line without a name and colon)`);
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    const previous = headers[name];
    headers[name] = previous === undefined ? value : [...(Array.isArray(previous) ? previous : [previous]), value];
  }
  return headers;
}

async function serve(file: string): Promise<number> {
  const config = loadConfigFile(file);
  const logger = cliLogger({ info: true });
  const gateway = await startGateway(config, logger);
  announce('listening', { url: gateway.url, admin: gateway.admin ?? gateway.url, routes: config.routes.map((r) => r.path) });
  return new Promise<number>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      // A second signal: stop waiting for the grace period.
      if (stopping) process.exit(signal === 'SIGINT' ? 130 : 143);
      stopping = true;
      announce('stopping', { signal, grace: config.shutdownGrace });
      gateway.close(config.shutdownGrace).then(
        (summaries) => {
          announce('stopped', { finished: sum(summaries, 'finished'), cut: sum(summaries, 'cut') });
          resolve(0);
        },
        /* c8 ignore next 4: close() does not reject (the file's shutdownGrace is checked at load, server.close errors are not passed on) */
        (error: unknown) => {
          logger.error({ error: (error as Error).name }, 'mcp-header-relay serve: shutdown failed');
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

const sum = (summaries: readonly { finished: number; cut: number }[], key: 'finished' | 'cut') => summaries.reduce((n, s) => n + s[key], 0);

/** check and explain build routes only to judge them: let go of their pools and timers. */
function release(built: BuiltGateway): void {
  void closeRoutes(
    built.routes.map((r) => r.route),
    { grace: 0 },
  );
}

function onePositional(positionals: readonly string[]): string {
  if (positionals.length !== 1) throw new UsageError(`expected one FILE argument, got ${positionals.length}`);
  return positionals[0]!;
}

function requireValue(value: string | undefined, what: string): string {
  if (value === undefined || value === '') throw new UsageError(`missing ${what}`);
  return value;
}

function version(): string {
  // lib/cli/main.ts and dist/cli/main.js both sit two levels below the package root.
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function print(text: string, code: number): number {
  console.log(text);
  return code;
}

/** Exit codes: 0 ok, 1 a file or runtime error (its message on stderr), 2 a usage error (with the usage). */
export function exitCodeOf(error: unknown): number {
  if (error instanceof UsageError) {
    console.error(`mcp-header-relay: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  console.error(error instanceof Error ? error.message : String(error));
  return 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    if (code !== 0 || process.listenerCount('SIGTERM') > 0) process.exit(code);
  },
  (error: unknown) => process.exit(exitCodeOf(error)),
);
