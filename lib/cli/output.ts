/**
 * What the command prints: the JSON log lines (the library's console format, with `info` on stdout)
 * and `check`'s view of the effective routes (names only: header names, secret names, never a value).
 */
import { jsonLine, type LogFields, type RelayLogger } from '../logger.js';
import type { GatewayConfig } from './config-file.js';
import type { BuiltRoute } from './build-routes.js';

/** One JSON object per line: info on stdout (`serve` only: check and explain keep stdout for their report), warnings and errors on stderr. */
export function cliLogger({ info }: { info: boolean }): Required<RelayLogger> {
  return {
    info: info ? (fields, message) => console.log(jsonLine('info', fields, message)) : () => {},
    warn: (fields, message) => console.error(jsonLine('warn', fields, message)),
    error: (fields, message) => console.error(jsonLine('error', fields, message)),
    debug: () => {},
  };
}

/** A line of its own, for the event a supervisor or a test waits for (`listening`, `stopped`). */
export function announce(message: string, fields: LogFields): void {
  console.log(jsonLine('info', fields, message));
}

/** `check`'s report: the listeners, then per route its name, mount path, target and header names. */
export function describeGateway(config: GatewayConfig, routes: readonly BuiltRoute[]): string {
  const lines = [`${config.file}: valid, ${routes.length} route${routes.length === 1 ? '' : 's'}`];
  lines.push(`listen: ${config.listen.host}:${config.listen.port}`);
  lines.push(`admin:  ${config.admin ? `${config.admin.host}:${config.admin.port}` : 'on the main listener'} (/healthz /readyz /metrics)`);
  const allow = config.capture?.allow;
  lines.push(`capture: ${Array.isArray(allow) ? allow.join(', ') || '(none)' : '(none)'}`);
  const store = config.sessionStore;
  lines.push(`sessions: ${store ? `redis (URL from ${store.urlEnv}, key from ${store.sessionKeyEnv}), shared by every bind route` : 'in memory, per process'}`);
  for (const { config: route, route: built } of routes) lines.push('', ...describeRoute(route.path, built.name, route.secrets, route.options));
  return lines.join('\n');
}

function describeRoute(mount: string, name: string, provider: string, options: Readonly<Record<string, unknown>>): string[] {
  const headers = (options.headers ?? {}) as Record<string, Record<string, string> | undefined>;
  const names = (map: string) => Object.keys(headers[map] ?? {});
  const passthrough = options.passthrough as readonly string[] | undefined;
  const lines = [
    `route ${name}`,
    `  path:        ${mount}`,
    `  target:      ${String(options.target)}`,
    `  passthrough: ${passthrough ? passthrough.join(', ') || '(none)' : '(every captured header but credentials)'}`,
  ];
  const list = (label: string, values: string[]) => values.length > 0 && lines.push(`  ${label.padEnd(12)} ${values.join(', ')}`);
  list('static:', names('plaintext'));
  list(
    'secret:',
    names('fromSecret').map((header) => `${header} (${provider}: ${headers.fromSecret?.[header] ?? ''})`),
  );
  list('renamed:', names('fromCaptured'));
  list('template:', names('template'));
  lines.push(`  session:     ${sessionMode(options.session)}`);
  return lines;
}

function sessionMode(session: unknown): string {
  if (typeof session === 'string') return session;
  if (typeof session === 'object' && session !== null && 'mode' in session) return String(session.mode);
  return 'request';
}
