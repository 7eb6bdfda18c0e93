/**
 * Turns a generated Obj tree into the objects a user's code would hold: written as JSON text and
 * parsed, so every key (even `__proto__`) is an own data property, never a prototype change.
 */
import { Live, Obj } from './config-arbitraries.js';

const LIVE_MARK = '\u0000live:';

export function materialize(tree: Obj): Record<string, unknown> {
  const lives: unknown[] = [];
  const text = jsonText(tree, lives);
  return JSON.parse(text, (_key, value: unknown) =>
    typeof value === 'string' && value.startsWith(LIVE_MARK) ? lives[Number(value.slice(LIVE_MARK.length))] : value,
  ) as Record<string, unknown>;
}

function jsonText(value: unknown, lives: unknown[]): string {
  if (value instanceof Obj) return `{${value.entries.map(([k, v]) => `${JSON.stringify(k)}:${jsonText(v, lives)}`).join(',')}}`;
  if (Array.isArray(value)) return `[${value.map((v) => jsonText(v, lives)).join(',')}]`;
  if (value instanceof Live) {
    lives.push(value.value);
    return JSON.stringify(`${LIVE_MARK}${lives.length - 1}`);
  }
  return JSON.stringify(value);
}

/** Every string in the tree that contains `marker` (own keys only, URLs as text), to search for leaks. */
export function stringsContaining(value: unknown, marker: string, out: string[] = []): string[] {
  if (typeof value === 'string' || value instanceof URL) {
    if (String(value).includes(marker)) out.push(String(value));
  } else if (value instanceof Obj) {
    for (const [, v] of value.entries) stringsContaining(v, marker, out);
  } else if (value instanceof Live) {
    stringsContaining(value.value, marker, out);
  } else if (Array.isArray(value)) {
    for (const v of value) stringsContaining(v, marker, out);
  }
  return out;
}
