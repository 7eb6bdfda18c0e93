/**
 * The gateway file's JSON Schema (draft 2020-12), for editor completion: `mcp-header-relay schema`
 * prints it and the build ships it as dist/relay-config.schema.json. It is generated, not written: the
 * file's own shape (config-shape.ts) with each key it leaves to the library given the library's shape
 * (option-shapes.ts), and each code-only key left out. The schema documents; the gateway still checks a
 * file with config-shape.ts and mcpProxy(), so what JSON Schema cannot say (a custom check becomes `{}`)
 * is still refused at load.
 */
import { z } from 'zod';
import { bindShape, captureShape as libraryCapture, proxyShape, requestSchema, routeHeadersShape, tlsShape } from '../option-shapes.js';
import { byLibrary, captureShape, codeOnly, gatewayFileSchema, headersShape, requiredByLibrary, routeShape, tlsFileShape } from './config-shape.js';

export const SCHEMA_ID = 'https://unpkg.com/mcp-header-relay/dist/relay-config.schema.json';

type Shape = Readonly<Record<string, z.ZodType>>;

/**
 * A file shape as documented: code-only keys dropped, keys the library checks given the library's
 * schema (or a file form of it, where the library's check is code zod cannot export).
 */
export function documentedShape(file: Shape, library: Shape, fileForms: Shape = {}): Record<string, z.ZodType> {
  const out: Record<string, z.ZodType> = {};
  for (const [key, schema] of Object.entries(file)) {
    if (schema === codeOnly) continue;
    const fromLibrary = schema === byLibrary || schema === requiredByLibrary;
    const documented = fileForms[key] ?? (fromLibrary ? library[key] : schema);
    if (!documented) throw new Error(`config-json-schema: the library has no shape for "${key}"`);
    out[key] = documented;
  }
  return out;
}

/** The header maps: the library checks them in code (parse-headers.ts); in a file each value is a string. */
const headerMap = (what: string) => z.record(z.string(), z.string()).optional().describe(what);
const headerForms = {
  plaintext: headerMap('header name -> value, sent as written'),
  fromSecret: headerMap("header name -> secret name, read from the route's secret provider"),
  fromCaptured: headerMap('header name -> name of a captured client header'),
  template: headerMap("header name -> template, e.g. 'Bearer {secret:TOKEN}' or 'user:{captured:x-user}'"),
};

/** `session`: the library takes it as unknown and checks it by mode (parse-session.ts); pin needs a principal function. */
const sessionForm = z
  .union([z.enum(['request', 'bind']), requestSchema, z.strictObject(bindShape).omit({ store: true, principal: true })])
  .optional()
  .describe('request (default) | bind | { mode: bind, idleTtl, absoluteTtl, maxSessions, ... }; pin needs code (a principal function)');

const routeSchema = z.strictObject(
  documentedShape(routeShape, proxyShape, {
    path: routeShape.path.describe("mount path: plain segments starting with /, e.g. '/github'"),
    secrets: routeShape.secrets.describe('name of a provider of the top-level secrets (default: env)'),
    headers: z.strictObject(documentedShape(headersShape, routeHeadersShape, headerForms)).optional(),
    tls: z
      .strictObject(documentedShape(tlsFileShape, tlsShape))
      .optional()
      .describe('for https: targets; PEM files (relative to the gateway file) and the passphrase from an environment variable'),
    session: sessionForm,
  }),
);

const documentedFile = gatewayFileSchema.extend({
  capture: z.strictObject(documentedShape(captureShape, libraryCapture)).optional().describe('captureHeaders() options: which client headers are captured'),
  routes: z.array(routeSchema).min(1).describe('the routes: each mcpProxy() options plus its mount path, provider name and TLS files'),
});

/**
 * What the generated schema says that a file cannot mean: where a custom check sat in a union (a URL or
 * Buffer object beside a string) the file can only write the string; `readOnly` (from the library's
 * readonly arrays) is about TypeScript, not about who may set the key.
 */
export function forFiles(ctx: { jsonSchema: Record<string, unknown> }): void {
  delete ctx.jsonSchema.readOnly;
  const members: unknown = ctx.jsonSchema.anyOf;
  if (!Array.isArray(members)) return;
  const writable = (members as unknown[]).filter((m) => typeof m === 'object' && m !== null && Object.keys(m).length > 0);
  if (writable.length === members.length || writable.length === 0) return;
  if (writable.length === 1) {
    delete ctx.jsonSchema.anyOf;
    Object.assign(ctx.jsonSchema, writable[0]);
  } else {
    ctx.jsonSchema.anyOf = writable;
  }
}

/** The JSON Schema of the gateway file, a plain object ready for JSON.stringify. */
export function relayConfigJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(documentedFile, {
    target: 'draft-2020-12',
    unrepresentable: 'any',
    io: 'input',
    override: forFiles,
  }) as Record<string, unknown>;
  const { $schema, ...rest } = generated;
  return {
    $schema,
    $id: SCHEMA_ID,
    title: 'mcp-header-relay gateway file',
    description: 'The YAML file of `mcp-header-relay serve --config FILE` (docs/gateway.md). `mcp-header-relay check FILE` checks what this schema cannot.',
    ...rest,
  };
}
