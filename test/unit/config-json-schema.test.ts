/**
 * The gateway file's JSON Schema (lib/cli/config-json-schema.ts), judged by a real draft 2020-12
 * validator (ajv, already installed by the MCP SDK): the examples of docs/gateway.md pass, a misspelt or
 * code-only key fails, every key the file accepts is listed and no code-only one, and `mcp-header-relay
 * schema` prints exactly the module's schema.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { parseConfig } from '../../lib/cli/config-file.js';
import { forFiles, relayConfigJsonSchema, SCHEMA_ID } from '../../lib/cli/config-json-schema.js';
import { captureShape, codeOnly, headersShape, routeShape, tlsFileShape } from '../../lib/cli/config-shape.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const schema = relayConfigJsonSchema();
const validate = new Ajv2020({ strict: true, allErrors: true }).compile(schema);

/** The YAML blocks of docs/gateway.md that are whole gateway files. */
const docExamples = [...readFileSync(`${ROOT}docs/gateway.md`, 'utf8').matchAll(/```yaml\n([\s\S]*?)```/g)]
  .map((m) => m[1]!)
  .filter((text) => /^(#.*\n)*listen:/.test(text));

const valid = (data: unknown): boolean => validate(data);
const file = (route: string) =>
  parse(`listen: { port: 8080 }\nroutes:\n  - path: /github\n    target: http://127.0.0.1:9001/mcp\n${route}`, { schema: 'core' }) as unknown;

type Props = Record<string, { properties?: Props; items?: { properties?: Props } }>;
const props = schema.properties as Props;
const routeProps = props.routes!.items!.properties!;
const settable = (shape: Record<string, unknown>): string[] => Object.keys(shape).filter((key) => shape[key] !== codeOnly);
const codeOnlyKeys = (shape: Record<string, unknown>): string[] => Object.keys(shape).filter((key) => shape[key] === codeOnly);

describe('the gateway file JSON Schema', () => {
  it('is draft 2020-12 with an $id and a title', () => {
    assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
    assert.equal(schema.$id, SCHEMA_ID);
    assert.equal(typeof schema.title, 'string');
  });

  it('accepts the examples of docs/gateway.md, which the gateway accepts too', () => {
    assert.ok(docExamples.length >= 3, `found ${docExamples.length} examples`);
    for (const text of docExamples) {
      assert.ok(valid(parse(text, { schema: 'core' })), JSON.stringify(validate.errors));
      parseConfig(text, 'relay.yaml', ROOT);
    }
  });

  it('docs/gateway.md names every key the schema has, at every level', () => {
    const docs = readFileSync(`${ROOT}docs/gateway.md`, 'utf8');
    const keys = new Set<string>();
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) return node.forEach(walk);
      if (typeof node !== 'object' || node === null) return;
      const { properties } = node as { properties?: Record<string, unknown> };
      if (properties) for (const key of Object.keys(properties)) keys.add(key);
      Object.values(node).forEach(walk);
    };
    walk(schema);
    assert.ok(keys.size > 40, `walked ${keys.size} keys`);
    const missing = [...keys].filter((key) => !new RegExp(`\\b${key}\\b`).test(docs));
    assert.deepEqual(missing, [], 'keys of the file that docs/gateway.md does not mention');
  });

  it('accepts what the library checks: session modes, timeouts, header maps', () => {
    assert.ok(valid(file('    session: { mode: bind, idleTtl: 60000, maxSessions: 100 }\n    connectTimeout: 5000\n')), JSON.stringify(validate.errors));
    assert.ok(valid(file('    session: request\n    headers: { template: { X-User: "user:{captured:x-user}" } }\n')), JSON.stringify(validate.errors));
  });

  it('refuses a misspelt key, a code-only key, and values the library refuses', () => {
    const refused = [
      '    passthru: [x-tenant]\n',
      '    logger: {}\n',
      '    headers: { fromRequest: {} }\n',
      '    session: pin\n',
      '    session: { mode: bind, store: {} }\n',
      '    connectTimeout: 0\n',
      '    passthrough: x-tenant\n',
      '    headers: { plaintext: { X-Count: 3 } }\n',
      '    tls: { ca: pem }\n',
    ];
    for (const route of refused) assert.equal(valid(file(route)), false, route);
    assert.equal(valid({ listen: { port: 8080 }, routes: [] }), false, 'no routes');
    assert.equal(valid({ listen: { port: 8080 }, rotues: [] }), false, 'a misspelt top-level key');
  });

  it('lists every key the file accepts and none of the code-only ones', () => {
    assert.deepEqual(Object.keys(props).sort(), ['admin', 'capture', 'listen', 'reloadGrace', 'routes', 'secrets', 'sessionStore', 'shutdownGrace']);
    assert.deepEqual(Object.keys(props.sessionStore!.properties!).sort(), ['connectTimeout', 'prefix', 'sessionKeyEnv', 'type', 'urlEnv']);
    const listen = props.listen!.properties!;
    assert.deepEqual(Object.keys(listen).sort(), ['host', 'port', 'tls']);
    assert.deepEqual(Object.keys(listen.tls!.properties!).sort(), ['certFile', 'clientCaFile', 'keyFile', 'passphraseEnv']);
    const levels: [string, Record<string, unknown>, Props][] = [
      ['routes[]', routeShape, routeProps],
      ['routes[].headers', headersShape, routeProps.headers!.properties!],
      ['routes[].tls', tlsFileShape, routeProps.tls!.properties!],
      ['capture', captureShape, props.capture!.properties!],
    ];
    for (const [at, shape, listed] of levels) {
      assert.deepEqual(Object.keys(listed).sort(), settable(shape).sort(), at);
      for (const key of codeOnlyKeys(shape)) assert.ok(!(key in listed), `${at}.${key} is code-only`);
    }
    assert.ok(codeOnlyKeys(routeShape).includes('principal') && codeOnlyKeys(headersShape).includes('fromCredential'));
  });

  it('gives the library options their types where zod can say them', () => {
    assert.deepEqual(routeProps.target, { type: 'string' });
    assert.equal((routeProps.connectTimeout as { minimum?: number }).minimum, 1);
    assert.equal((routeProps.passthrough as { type?: string }).type, 'array');
    assert.ok(!JSON.stringify(schema).includes('readOnly'), 'readonly arrays are settable in a file');
  });

  it('a union keeps only what a file can write: one member becomes the schema, several stay a union, readOnly goes', () => {
    const one = { jsonSchema: { anyOf: [{ type: 'string' }, {}], readOnly: true } };
    forFiles(one);
    assert.deepEqual(one.jsonSchema, { type: 'string' });
    const several = { jsonSchema: { anyOf: [{ type: 'string' }, { type: 'number' }, {}] } };
    forFiles(several);
    assert.deepEqual(several.jsonSchema, { anyOf: [{ type: 'string' }, { type: 'number' }] });
    for (const kept of [
      [{ type: 'string' }, { type: 'number' }],
      [{}, {}],
    ]) {
      const union = { jsonSchema: { anyOf: kept } };
      forFiles(union);
      assert.deepEqual(union.jsonSchema, { anyOf: kept }, 'all writable, or none: left as generated');
    }
  });

  it('mcp-header-relay schema prints the same schema', () => {
    const out = execFileSync(process.execPath, ['--import', 'tsx', 'lib/cli/main.ts', 'schema'], { cwd: ROOT, encoding: 'utf8' });
    assert.deepEqual(JSON.parse(out), schema);
  });
});
