/**
 * The zod-to-HeaderConfigError adapter: runs an option schema of option-shapes.ts and turns zod's first
 * issue into a coded error naming the option path, with "did you mean" for a misspelt key. With
 * option-shapes.ts, the only module that imports zod.
 */
import { z } from 'zod';
import { HeaderConfigError } from './config-error.js';
import { isRecord } from './option-shapes.js';

/**
 * Shape and type checks with zod; the first problem becomes a HeaderConfigError. `fn` names the owner
 * of the options in messages: a function name (`mcpProxy`, shown as `mcpProxy()`) or words (`the gateway file`).
 */
export function validateShape<T>(schema: z.ZodType<T>, options: unknown, fn: string, at = ''): T {
  const owner = /^\w+$/.test(fn) ? `${fn}()` : fn;
  if (!isRecord(options)) {
    throw new HeaderConfigError('ERR_INVALID_OPTION', '(options)', `${owner} takes an options object`);
  }
  const result = schema.safeParse(ownProperties(options));
  // zod's output is a plain object: read back through a null prototype so absent options stay absent.
  if (result.success) return ownProperties(result.data as Record<string, unknown>) as T;
  // A misspelt option explains a missing one (`allowlist` for `allow`): report it first.
  const issues = result.error.issues;
  const issue = issues.find((i) => i.code === 'unrecognized_keys') ?? issues[0]!;
  const base = [at, formatPath(issue.path)].filter(Boolean).join('.');
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    const path = base ? `${base}.${key}` : key;
    throw new HeaderConfigError('ERR_INVALID_OPTION', path, `unknown option of ${owner}${suggest(key, knownKeys(schema, issue.path))}`);
  }
  // zod's own words for a missing option say nothing useful; a schema's custom message does.
  if (valueAt(options, issue.path) === undefined && issue.message.startsWith('Invalid input')) {
    const hint = REQUIRED_HINTS[String(issue.path.at(-1))];
    // Stryker disable next-line StringLiteral: a missing option has a path (the options object itself is there), so base is never empty here
    throw new HeaderConfigError('ERR_INVALID_OPTION', base || '(options)', `is required${hint ? `: ${hint}` : ''}`);
  }
  throw new HeaderConfigError('ERR_INVALID_OPTION', base || '(options)', issue.message);
}

/** What a required option holds, for the "is required" message. */
const REQUIRED_HINTS: Record<string, string> = {
  target: "the backend's MCP endpoint, e.g. 'http://127.0.0.1:9001/mcp'",
  allow: "the incoming header names to capture, e.g. ['x-mcp-api-key']",
  mode: "'request', 'bind' or 'pin'",
  principal: 'a function (req) => string | undefined naming the authenticated caller',
  path: "the route's mount path, e.g. '/github'",
  port: 'a TCP port from 0 to 65535 (0: any free port)',
};

function valueAt(options: unknown, path: readonly PropertyKey[]): unknown {
  let node: unknown = options;
  // Stryker disable next-line ConditionalExpression: zod stops at the first value that is no object or list, so a path never goes through one
  for (const part of path) node = isRecord(node) || Array.isArray(node) ? (node as Record<PropertyKey, unknown>)[part] : undefined;
  return node;
}

/**
 * Own enumerable properties only, on null-prototype objects (one level into `headers` and `tls`): an
 * option inherited from a polluted Object.prototype, such as `allowCredentials` or
 * `rejectUnauthorized`, must never take effect.
 */
function ownProperties(options: Record<string, unknown>): Record<string, unknown> {
  const copy = Object.assign(Object.create(null) as Record<string, unknown>, options);
  for (const key of ['headers', 'tls']) {
    if (isRecord(copy[key])) copy[key] = Object.assign(Object.create(null) as Record<string, unknown>, copy[key]);
  }
  return copy;
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out;
}

/** The option names valid at `path` inside `schema` (an object schema, possibly wrapped in optional). */
function knownKeys(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let node: z.ZodType | undefined = schema;
  for (const part of path) {
    while (node instanceof z.ZodOptional) node = node.unwrap() as z.ZodType;
    // Into a list's items (`routes[1]`) and a map's values (`secrets.files`) as well as an object's keys.
    if (node instanceof z.ZodArray) node = node.element as z.ZodType;
    else if (node instanceof z.ZodRecord) node = node.valueType as z.ZodType;
    else node = node instanceof z.ZodObject ? (node.shape as Record<string, z.ZodType>)[String(part)] : undefined;
  }
  while (node instanceof z.ZodOptional) node = node.unwrap() as z.ZodType;
  // Stryker disable next-line ArrayDeclaration: no option name is near a made-up one, so no suggestion either way
  return node instanceof z.ZodObject ? Object.keys(node.shape) : [];
}

/** "Did you mean `passthrough`?" for a near-miss key among the ones valid there. */
function suggest(key: string, known: readonly string[]): string {
  const lower = key.toLowerCase();
  const match = known.find((candidate) => {
    const k = candidate.toLowerCase();
    // A near miss (another casing is none), or a known name with something added or cut (`allowlist`, `passthru`).
    return editDistance(k, lower) <= 2 || sharedPrefix(k, lower) >= Math.max(4, Math.min(k.length, lower.length) - 1);
  });
  return match ? `; did you mean "${match}"?` : '';
}

function sharedPrefix(a: string, b: string): number {
  let i = 0;
  // Stryker disable next-line ConditionalExpression,LogicalOperator,EqualityOperator: past either end a[i] === b[i] is false, as the names compared here differ
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}
