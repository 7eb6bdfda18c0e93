/**
 * Reads a gateway file (YAML) into a plain GatewayConfig: parse, check the file's own keys
 * (config-shape.ts), then what spans routes (provider names, duplicate and nested mount paths). The
 * routes' library options are checked later, by mcpProxy() itself (build-routes.ts). Every error is a
 * ConfigFileError naming the file, the path in it and the rule: never a value from the file.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { HeaderConfigError } from '../config-error.js';
import { DEFAULT_GRACE_MS } from '../lifecycle.js';
import { isRecord } from '../option-shapes.js';
import { validateShape } from '../option-shape-errors.js';
import { gatewayFileSchema, type FileListenerTls, type FileRoute, type FileSecretProvider, type FileSessionStore, type GatewayFile } from './config-shape.js';
import { withoutUndefined } from '../without-undefined.js';

/** A problem in a gateway file: `relay.yaml: routes[1].headers.fromSecret["X-Api-Key"]: <rule> [code]`. */
export class ConfigFileError extends Error {
  readonly file: string;
  /** The path inside the file, e.g. `routes[1].target`; `(file)` for the file as a whole. */
  readonly path: string;
  readonly rule: string;
  readonly code: HeaderConfigError['code'] | 'ERR_CONFIG_FILE';

  constructor(file: string, error: HeaderConfigError | { path: string; rule: string }) {
    const code = error instanceof HeaderConfigError ? error.code : 'ERR_CONFIG_FILE';
    super(`${file}: ${error instanceof HeaderConfigError ? error.message : `${error.path}: ${error.rule}`}`);
    this.name = 'ConfigFileError';
    this.file = file;
    this.path = error.path;
    this.rule = error.rule;
    this.code = code;
  }
}

/** Runs a library call; its HeaderConfigError comes back as a ConfigFileError at `at` + its own path. */
export function within<T>(file: string, at: string, build: () => T): T {
  try {
    return build();
  } catch (error) {
    if (!(error instanceof HeaderConfigError)) throw error;
    throw new ConfigFileError(file, new HeaderConfigError(error.code, joinPath(at, error.path), error.rule));
  }
}

/** `routes[1]` + `headers.plaintext["X"]`; a library path that is not an option path (`(options)`, `fileSecrets(dir)`) becomes `at`. */
export function joinPath(at: string, inner: string): string {
  if (inner.startsWith('[')) return `${at}${inner}`;
  if (!/^[A-Za-z]/.test(inner) || inner.includes('(')) return at;
  return `${at}.${inner}`;
}

export interface Listener {
  readonly host: string;
  readonly port: number;
  /** HTTPS, with file paths made absolute; undefined: plain HTTP. */
  readonly tls: FileListenerTls | undefined;
}

/** A route of the file: its mount path, the provider it reads secrets from, and its data for mcpProxy(). */
export interface RouteConfig {
  /** Position in the file, for error paths (`routes[1]`). */
  readonly index: number;
  readonly path: string;
  /** Name of a provider in GatewayConfig.secrets. */
  readonly secrets: string;
  /** File paths made absolute (relative to the gateway file's directory). */
  readonly tls: FileRoute['tls'];
  /** The rest: mcpProxy() options as written, checked by mcpProxy(). */
  readonly options: Readonly<Record<string, unknown>>;
}

export interface GatewayConfig {
  /** The file as named on the command line: the prefix of every error. */
  readonly file: string;
  readonly listen: Listener;
  /** Where /healthz, /readyz and /metrics are served; undefined: on the main listener. */
  readonly admin: Listener | undefined;
  /** captureHeaders() options as written; undefined: nothing is captured. */
  readonly capture: Readonly<Record<string, unknown>> | undefined;
  /** Named providers, `env` always among them. */
  readonly secrets: Readonly<Record<string, FileSecretProvider>>;
  readonly routes: readonly RouteConfig[];
  /** Where bind routes keep their sessions when not in each process's memory (shared-sessions.ts). */
  readonly sessionStore: FileSessionStore | undefined;
  readonly shutdownGrace: number;
  /** How long requests under way on a route a reload changed or removed may go on (ms). */
  readonly reloadGrace: number;
}

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PROVIDER = 'env';
/** An event stream on a retired route is cut after this; SDK clients reconnect their GET stream on their own. */
export const DEFAULT_RELOAD_GRACE_MS = 60_000;

/** Reads and checks `file`; throws ConfigFileError. */
export function loadConfigFile(file: string): GatewayConfig {
  return parseConfig(readConfigText(file), file, path.dirname(path.resolve(file)));
}

/** The file's text; throws ConfigFileError. */
export function readConfigText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigFileError(file, { path: '(file)', rule: `cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})` });
  }
}

/** Parses YAML text as the file `file` in directory `dir` (relative file paths in it are read from there). */
export function parseConfig(text: string, file: string, dir: string): GatewayConfig {
  const data = parseYaml(text, file);
  let parsed: GatewayFile;
  try {
    if (!isRecord(data)) throw new HeaderConfigError('ERR_INVALID_OPTION', '(file)', 'must be a YAML mapping with listen and routes');
    parsed = validateShape(gatewayFileSchema, data, 'the gateway file');
  } catch (error) {
    if (error instanceof HeaderConfigError) throw new ConfigFileError(file, error);
    /* c8 ignore next 2: validateShape throws HeaderConfigError only; anything else is a bug, passed on as it is */
    throw error;
  }
  const secrets: Record<string, FileSecretProvider> = { [DEFAULT_PROVIDER]: { type: 'env' } };
  for (const [name, provider] of Object.entries(parsed.secrets ?? {})) {
    secrets[name] = provider.type === 'file' ? { ...provider, dir: path.resolve(dir, provider.dir) } : provider;
  }
  const routes = parsed.routes.map((route, index) => routeConfig(route, index, dir));
  checkRoutes(file, routes, secrets);
  if (!parsed.admin) checkEndpoints(file, routes);
  return {
    file,
    listen: listener(parsed.listen, dir),
    admin: parsed.admin && listener(parsed.admin, dir),
    // An explicit `key:` with no value is null, not undefined: kept, so the library refuses it.
    capture: parsed.capture && withoutUndefined(parsed.capture),
    secrets,
    routes,
    sessionStore: parsed.sessionStore,
    shutdownGrace: parsed.shutdownGrace ?? DEFAULT_GRACE_MS,
    reloadGrace: parsed.reloadGrace ?? DEFAULT_RELOAD_GRACE_MS,
  };
}

function listener({ host, port, tls }: GatewayFile['listen'], dir: string): Listener {
  const absolute = (f: string) => path.resolve(dir, f);
  const clientCaFile = Array.isArray(tls?.clientCaFile) ? tls.clientCaFile.map(absolute) : tls?.clientCaFile && absolute(tls.clientCaFile);
  return {
    host: host ?? DEFAULT_HOST,
    port,
    tls: tls && { ...tls, certFile: absolute(tls.certFile), keyFile: absolute(tls.keyFile), clientCaFile },
  };
}

/**
 * YAML 1.2 core schema, duplicate keys refused. A syntax error is reported by line, column and yaml's
 * code only: yaml's own message quotes the offending line, which may hold a header value.
 */
function parseYaml(text: string, file: string): unknown {
  const doc = parseDocument(text, { schema: 'core', uniqueKeys: true, prettyErrors: true });
  const problem = doc.errors[0];
  if (problem) {
    const at = problem.linePos?.[0];
    const where = at ? `line ${at.line}, column ${at.col}` : '(file)';
    throw new ConfigFileError(file, { path: where, rule: `is not valid YAML (${problem.code})` });
  }
  return doc.toJS({ maxAliasCount: 100 }) as unknown;
}

function routeConfig(route: FileRoute, index: number, dir: string): RouteConfig {
  const { path: mount, secrets, tls, ...options } = route;
  const files = (f: string | undefined) => f && path.resolve(dir, f);
  const absoluteTls = tls && {
    ...tls,
    caFile: Array.isArray(tls.caFile) ? tls.caFile.map((f) => path.resolve(dir, f)) : files(tls.caFile),
    certFile: files(tls.certFile),
    keyFile: files(tls.keyFile),
  };
  return { index, path: mount, secrets: secrets ?? DEFAULT_PROVIDER, tls: absoluteTls, options: withoutUndefined(options) };
}

/** What no single route can check: provider names, and mount paths that would shadow one another. */
function checkRoutes(file: string, routes: readonly RouteConfig[], secrets: Readonly<Record<string, unknown>>): void {
  for (const route of routes) {
    if (!Object.hasOwn(secrets, route.secrets)) {
      const known = Object.keys(secrets).join(', ');
      throw new ConfigFileError(file, { path: `routes[${route.index}].secrets`, rule: `names no secret provider (defined: ${known})` });
    }
    const earlier = routes
      .slice(0, route.index)
      .find((other) => other.path === route.path || route.path.startsWith(`${other.path}/`) || other.path.startsWith(`${route.path}/`));
    if (earlier) {
      const how = earlier.path === route.path ? 'is the same mount path as' : 'overlaps the mount path of';
      throw new ConfigFileError(file, {
        path: `routes[${route.index}].path`,
        rule: `${how} routes[${earlier.index}] (${earlier.path}); each route needs its own`,
      });
    }
  }
}

/** The operational endpoints served on the main listener when there is no admin listener. */
export const ADMIN_PATHS = ['/healthz', '/readyz', '/metrics'];

/** Without an admin listener the endpoints share the main one: a route there would never be reached. */
function checkEndpoints(file: string, routes: readonly RouteConfig[]): void {
  for (const route of routes) {
    const taken = ADMIN_PATHS.find((endpoint) => route.path === endpoint || route.path.startsWith(`${endpoint}/`));
    if (taken) {
      throw new ConfigFileError(file, {
        path: `routes[${route.index}].path`,
        rule: `is the gateway's ${taken} endpoint; choose another mount path or move the endpoints to an admin listener`,
      });
    }
  }
}
