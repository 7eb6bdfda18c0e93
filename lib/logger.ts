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

/** Binds the methods once, so a pino or console instance keeps its `this`. */
export function resolveLogger(logger: RelayLogger | undefined): Required<RelayLogger> {
  const base = logger ?? consoleLogger;
  const noop = (): void => {};
  return {
    warn: base.warn.bind(base),
    error: base.error.bind(base),
    info: base.info ? base.info.bind(base) : noop,
    debug: base.debug ? base.debug.bind(base) : noop,
  };
}
