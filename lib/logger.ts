/**
 * The relay's logger contract: console- and pino-compatible. Every call passes a fields object
 * (header names, reasons, statuses; never a header value) followed by a message, which is pino's
 * `(obj, msg)` signature and prints readably on `console` too.
 */

export interface RelayLogger {
  warn(fields: LogFields, message: string): void;
  error(fields: LogFields, message: string): void;
  info?(fields: LogFields, message: string): void;
  debug?(fields: LogFields, message: string): void;
}

export type LogFields = Readonly<Record<string, string | number | boolean | readonly string[] | undefined>>;

/**
 * Warnings and errors reach the console unless the host app passes its own logger: one JSON object per
 * line (pino's field names), so `jq`, a log shipper or a test can read it without a parser of ours.
 */
const consoleLogger: RelayLogger = {
  warn: (fields, message) => console.warn(jsonLine('warn', fields, message)),
  error: (fields, message) => console.error(jsonLine('error', fields, message)),
};

export function jsonLine(level: Level, fields: LogFields, message: string): string {
  return JSON.stringify({ level, time: new Date().toISOString(), name: 'mcp-header-relay', msg: message, ...fields });
}

type Level = 'warn' | 'error' | 'info' | 'debug';

/**
 * Calls through the logger object, so a pino or console instance keeps its `this`, and makes the
 * methods unable to throw: a broken host logger must not stop an error answer or crash the process from a proxy event.
 */
export function resolveLogger(logger: RelayLogger | undefined): Required<RelayLogger> {
  const base = logger ?? consoleLogger;
  const safe = (level: Level) => (fields: LogFields, message: string) => {
    try {
      base[level]?.(fields, message);
    } catch {
      // Logging is best effort; the request outcome must not depend on it.
    }
  };
  return { warn: safe('warn'), error: safe('error'), info: safe('info'), debug: safe('debug') };
}

/** The same logger with `route` on every line: with several routes, each line says which one it is about. */
export function routeLogger(logger: Required<RelayLogger>, route: string): Required<RelayLogger> {
  const named = (level: Level) => (fields: LogFields, message: string) => logger[level]({ route, ...fields }, message);
  return { warn: named('warn'), error: named('error'), info: named('info'), debug: named('debug') };
}
