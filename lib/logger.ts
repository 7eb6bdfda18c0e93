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

/** Warnings and errors reach the console unless the host app passes its own logger. */
const consoleLogger: RelayLogger = {
  warn: (fields, message) => console.warn(`[mcp-header-relay] ${message}`, fields),
  error: (fields, message) => console.error(`[mcp-header-relay] ${message}`, fields),
};

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
