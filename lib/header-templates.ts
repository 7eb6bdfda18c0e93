/**
 * Header templates: a value built from literal text and placeholders, without code, so a route (or a
 * config file) can give each backend its own format: `Bearer {captured:x-user-token}`,
 * `{secret:FIGMA_TOKEN}`, `user={principal}`. `{{` and `}}` stand for literal braces.
 *
 * Parsed once at construction: an unknown source, a bad name or a literal with CR/LF throws a
 * HeaderConfigError naming the option path. Rendered per request: a template whose inputs are not all
 * present yields no header, never a half-filled one.
 */
import { HeaderConfigError } from './config-error.js';
import { invalidValueReason } from './header-rules.js';

export type TemplatePart =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'captured'; readonly name: string }
  | { readonly kind: 'secret'; readonly secret: string }
  | { readonly kind: 'principal' };

/** What a template reads per request; `undefined` means absent. */
export interface TemplateInputs {
  captured(name: string): string | undefined;
  secret(name: string): string | undefined;
  principal(): string | undefined;
}

const PLACEHOLDER = /\{\{|\}\}|\{([^{}]*)\}|[{}]/g;

/**
 * The parts of `template`; `checkName` and `checkSecret` apply the route's rules to the names a
 * placeholder reads (and return the name as stored).
 */
export function parseTemplate(template: string, path: string, checkName: (name: string) => string, checkSecret: (name: string) => string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let text = '';
  let last = 0;
  for (const match of template.matchAll(PLACEHOLDER)) {
    text += template.slice(last, match.index);
    last = match.index + match[0].length;
    if (match[0] === '{{' || match[0] === '}}') {
      text += match[0][0];
      continue;
    }
    if (match[1] === undefined) throw templateError(path, `an unmatched "${match[0]}"; write "${match[0]}${match[0]}" for a literal brace`);
    if (text) parts.push({ kind: 'text', text });
    text = '';
    parts.push(placeholder(match[1], path, checkName, checkSecret));
  }
  text += template.slice(last);
  if (text) parts.push({ kind: 'text', text });
  checkLiterals(parts, path);
  if (parts.length === 0) throw templateError(path, 'the template is empty');
  return parts;
}

function placeholder(inner: string, path: string, checkName: (name: string) => string, checkSecret: (name: string) => string): TemplatePart {
  if (inner === 'principal') return { kind: 'principal' };
  const colon = inner.indexOf(':');
  const source = colon === -1 ? inner : inner.slice(0, colon);
  const name = inner.slice(colon + 1);
  if (colon === -1 || name === '') {
    throw templateError(path, `"{${inner}}" is not a placeholder; use {captured:<header>}, {secret:<NAME>} or {principal}`);
  }
  if (source === 'captured') return { kind: 'captured', name: checkName(name) };
  if (source === 'secret') return { kind: 'secret', secret: checkSecret(name) };
  throw templateError(path, `unknown source "${source}" in "{${inner}}"; use {captured:<header>}, {secret:<NAME>} or {principal}`);
}

/** Literal text is sent as written: it must be a valid header value piece (no CR, LF or controls). */
function checkLiterals(parts: readonly TemplatePart[], path: string): void {
  for (const part of parts) {
    if (part.kind === 'text' && invalidValueReason(part.text, Infinity)) {
      throw templateError(path, 'literal text may contain only visible ASCII, space and tab (no CR, LF, NUL, controls or non-ASCII)');
    }
  }
}

/** The value, or undefined when an input is absent. */
export function renderTemplate(parts: readonly TemplatePart[], inputs: TemplateInputs): string | undefined {
  let out = '';
  for (const part of parts) {
    const value = part.kind === 'text' ? part.text : read(part, inputs);
    if (value === undefined || value === '') return undefined;
    out += value;
  }
  return out;
}

function read(part: Exclude<TemplatePart, { kind: 'text' }>, inputs: TemplateInputs): string | undefined {
  if (part.kind === 'captured') return inputs.captured(part.name);
  if (part.kind === 'secret') return inputs.secret(part.secret);
  return inputs.principal();
}

/** The captured header names and secret names a template reads. */
export function templateInputs(parts: readonly TemplatePart[]): { captured: string[]; secrets: string[]; principal: boolean } {
  const captured: string[] = [];
  const secrets: string[] = [];
  let principal = false;
  for (const part of parts) {
    if (part.kind === 'captured') captured.push(part.name);
    else if (part.kind === 'secret') secrets.push(part.secret);
    else if (part.kind === 'principal') principal = true;
  }
  return { captured, secrets, principal };
}

function templateError(path: string, rule: string): HeaderConfigError {
  return new HeaderConfigError('ERR_INVALID_TEMPLATE', path, rule);
}
