/**
 * The headers a route computes per request: `headers.fromCaptured`, `headers.template`,
 * `headers.fromRequest`, and the route options that go with them (`required`, `principal`, `audit`).
 * Every rule throws a HeaderConfigError with the option path and the rule broken, never a value.
 */
import type { IncomingMessage } from 'node:http';
import { HeaderConfigError, keyPath } from './config-error.js';
import type { ComputedHeader, CredentialHeaderConfig, DynamicHeaders, RenamedHeader, SecretHeader, TemplateHeader } from './config.js';
import { CredentialCache, parseCredentialCacheOptions } from './credential-cache.js';
import { redactedSource, type CredentialCacheOptions, type CredentialSource } from './credential-source.js';
import { credentialSourceSchema, isRecord } from './option-shapes.js';
import { CREDENTIAL_HEADERS, invalidNameReason } from './header-rules.js';
import { parseTemplate, templateInputs } from './header-templates.js';
import type { HeaderFunction, McpProxyOptions } from './options.js';
import { checkName, entriesOf, parseSecretName, parseStaticName } from './parse-headers.js';

export interface RouteHeaderContext {
  readonly allowCredentials: boolean;
  /** Outgoing names set so far (plaintext, fromSecret) -> their option path; extended here. */
  readonly seen: Map<string, string>;
  readonly passthrough: readonly string[] | undefined;
  readonly maxValueLength: number;
  /** The principal function of the route, or of its session options. */
  readonly principal: ((req: IncomingMessage) => string | undefined) | undefined;
}

/** The options as zod left them: shapes checked, map values not yet. */
interface Parsed {
  readonly headers?:
    | {
        readonly fromCaptured?: Record<string, unknown>;
        readonly template?: Record<string, unknown>;
        readonly fromRequest?: Record<string, unknown>;
        readonly fromCredential?: Record<string, unknown>;
      }
    | undefined;
  readonly required?: readonly string[] | undefined;
  readonly audit?: McpProxyOptions['audit'];
}

/** The dynamic part of the configuration, plus the secrets templates read (to resolve at startup). */
export function parseRouteHeaders(parsed: Parsed, context: RouteHeaderContext): DynamicHeaders & { templateSecrets: SecretHeader[] } {
  const capturedInputs = new Map<string, string>();
  const credentialInputs = new Set<string>();
  const useCaptured = (raw: string, path: string, into: string): string => {
    const name = checkCapturedSource(raw, path, context.allowCredentials);
    capturedInputs.set(name, path);
    if (CREDENTIAL_HEADERS.has(into)) credentialInputs.add(name);
    return name;
  };

  const renamed: RenamedHeader[] = [];
  for (const [key, from] of entriesOf(parsed.headers?.fromCaptured, 'headers.fromCaptured')) {
    const path = keyPath('headers.fromCaptured', key);
    const name = parseStaticName(key, path, context.seen);
    if (typeof from !== 'string') throw new HeaderConfigError('ERR_INVALID_OPTION', path, 'must name a captured header (a string)');
    renamed.push({ name, from: useCaptured(from, path, name) });
  }

  const templates: TemplateHeader[] = [];
  const templateSecrets: SecretHeader[] = [];
  for (const [key, template] of entriesOf(parsed.headers?.template, 'headers.template')) {
    const path = keyPath('headers.template', key);
    const name = parseStaticName(key, path, context.seen);
    if (typeof template !== 'string') throw new HeaderConfigError('ERR_INVALID_TEMPLATE', path, 'must be a template string');
    const parts = parseTemplate(
      template,
      path,
      (raw) => useCaptured(raw, path, name),
      (raw) => parseSecretName(raw, path),
    );
    const inputs = templateInputs(parts);
    if (inputs.principal && !context.principal) {
      throw new HeaderConfigError(
        'ERR_INVALID_TEMPLATE',
        path,
        "{principal} needs the route's principal option (or session.principal): a function (req) => string | undefined",
      );
    }
    for (const secret of inputs.secrets) templateSecrets.push({ name, secret, path });
    templates.push({ name, parts });
  }

  const computed: ComputedHeader[] = [];
  for (const [key, compute] of entriesOf(parsed.headers?.fromRequest, 'headers.fromRequest')) {
    const path = keyPath('headers.fromRequest', key);
    const name = parseStaticName(key, path, context.seen);
    if (typeof compute !== 'function') throw new HeaderConfigError('ERR_INVALID_OPTION', path, 'must be a function (req) => string | undefined');
    computed.push({ name, compute: compute as HeaderFunction, path });
  }

  const credentials: CredentialHeaderConfig[] = [];
  for (const [key, value] of entriesOf(parsed.headers?.fromCredential, 'headers.fromCredential')) {
    const path = keyPath('headers.fromCredential', key);
    const name = parseStaticName(key, path, context.seen);
    credentials.push(parseCredentialHeader(name, value, path, context.maxValueLength));
  }

  checkPassthrough(context, capturedInputs);
  const configured = new Set(context.seen.keys());
  return {
    renamed,
    templates,
    computed,
    credentials,
    configured,
    capturedInputs: new Set(capturedInputs.keys()),
    credentialInputs,
    required: parseRequired(parsed.required, configured, context.passthrough),
    principal: context.principal,
    audit: parsed.audit,
    templateSecrets,
  };
}

/** A source alone, or `{ source, cache }`; the source is redacted (its closures may hold secrets). */
function parseCredentialHeader(name: string, value: unknown, path: string, maxValueLength: number): CredentialHeaderConfig {
  const wrapped = isRecord(value) && !credentialSourceSchema.safeParse(value).success && 'source' in value;
  const source = wrapped ? value.source : value;
  if (!credentialSourceSchema.safeParse(source).success) {
    throw new HeaderConfigError(
      'ERR_INVALID_OPTION',
      wrapped ? `${path}.source` : path,
      'must be a credential source with key(), resolve() and description, such as tokenExchange({ ... }), or { source, cache }',
    );
  }
  if (wrapped) {
    const extra = Object.keys(value).find((k) => k !== 'source' && k !== 'cache');
    if (extra) throw new HeaderConfigError('ERR_INVALID_OPTION', `${path}.${extra}`, 'unknown option; a credential header takes source and cache');
  }
  const options = parseCredentialCacheOptions(wrapped ? (value.cache as CredentialCacheOptions | undefined) : undefined, 'mcpProxy', `${path}.cache`);
  const checked = redactedSource(source as CredentialSource);
  return { name, cache: new CredentialCache(checked, options, maxValueLength), source: checked };
}

/** A captured header read by a rename or a template: a valid, unrestricted name; a credential only with allowCredentials. */
function checkCapturedSource(raw: string, path: string, allowCredentials: boolean): string {
  const name = checkName(raw, path);
  if (CREDENTIAL_HEADERS.has(name) && !allowCredentials) {
    throw new HeaderConfigError(
      'ERR_CREDENTIAL_HEADER',
      path,
      `reading the caller's "${name}" is token passthrough; have the client send the backend's token under another name (e.g. x-upstream-authorization), or set allowCredentials: true to opt in`,
    );
  }
  return name;
}

/** passthrough may not list a name the route sets itself, or a captured name it renames or templates. */
function checkPassthrough(context: RouteHeaderContext, capturedInputs: ReadonlyMap<string, string>): void {
  // Stryker disable next-line ArrayDeclaration: without passthrough nothing is checked; a made-up name is neither set nor read by the route
  for (const name of context.passthrough ?? []) {
    const set = context.seen.get(name);
    if (set) {
      throw new HeaderConfigError(
        'ERR_HEADER_OVERLAP',
        set,
        `"${name}" is also listed in passthrough; a header is either forwarded from the caller or set by the route, remove it from one list`,
      );
    }
    const reader = capturedInputs.get(name);
    if (reader) {
      throw new HeaderConfigError(
        'ERR_HEADER_OVERLAP',
        reader,
        `"${name}" is also listed in passthrough; a captured header the route renames or templates is not forwarded under its own name, remove it from passthrough`,
      );
    }
  }
}

/** `required`: valid names the route can produce at all (set by it, or captured and forwarded). */
function parseRequired(names: readonly string[] | undefined, configured: ReadonlySet<string>, passthrough: readonly string[] | undefined): string[] {
  const out: string[] = [];
  (names ?? []).forEach((raw, i) => {
    const path = `required[${i}]`;
    const invalid = invalidNameReason(raw);
    if (invalid) throw new HeaderConfigError('ERR_INVALID_HEADER_NAME', path, invalid);
    const name = raw.toLowerCase();
    if (passthrough && !passthrough.includes(name) && !configured.has(name)) {
      throw new HeaderConfigError('ERR_INVALID_OPTION', path, `"${name}" can never be present: it is neither in passthrough nor set by the route`);
    }
    if (!out.includes(name)) out.push(name);
  });
  return out;
}
