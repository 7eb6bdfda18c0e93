import type { RelayLogger } from '../../lib/index.js';

export interface LogLine {
  level: 'warn' | 'error' | 'info' | 'debug';
  fields: unknown;
  message: string;
}

/** A RelayLogger that records every call, with `text()` for leak assertions over all lines. */
export function captureLogger(): RelayLogger & { lines: LogLine[]; text(): string } {
  const lines: LogLine[] = [];
  const record = (level: LogLine['level']) => (fields: unknown, message: string) => {
    lines.push({ level, fields, message });
  };
  return {
    lines,
    warn: record('warn'),
    error: record('error'),
    info: record('info'),
    debug: record('debug'),
    text: () => lines.map((l) => `${l.level} ${l.message} ${JSON.stringify(l.fields)}`).join('\n'),
  };
}
