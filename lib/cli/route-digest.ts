/**
 * A digest of what a gateway route is built from: its mount path and options as written, its secret
 * provider's definition, the contents of its TLS files. A reload keeps a running route (and its
 * sessions) when the new file gives the same digest, and builds a new one otherwise.
 */
import { createHash } from 'node:crypto';

export function digestOf(value: unknown): string {
  return createHash('sha256').update(canonical(value)).digest('base64url');
}

/** JSON with object keys sorted and buffers as their SHA-256, so reordering keys in YAML is no change. */
function canonical(value: unknown): string {
  if (Buffer.isBuffer(value)) return JSON.stringify(`sha256:${createHash('sha256').update(value).digest('hex')}`);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value)
      .filter(([, entry]) => entry !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, entry]) => `${JSON.stringify(key)}:${canonical(entry)}`).join(',')}}`;
  }
  return value === undefined ? 'null' : JSON.stringify(value);
}
