/**
 * captureHeaders: reads the allowlisted incoming headers once, validates them, and stores them per
 * request in a private class field on `req` (invisible to inspect, JSON and spreads; no global type
 * merging). Nothing else is captured.
 */
import type { IncomingMessage } from 'node:http';
import { refuse, reject, sendRejection, type Checked } from './rejection.js';
import { displayName, invalidValueReason } from './header-rules.js';
import type { CaptureConfig } from './config.js';
import type { CaptureHeadersOptions, RelayMiddleware } from './options.js';
import { parseCaptureOptions } from './parse-options.js';
import { checkHeaderCount, sentLineCount } from './request-checks.js';
import { requestSlot } from './request-slot.js';

/** Lower-case header name -> the caller's value. */
export type ForwardedHeaders = Readonly<Record<string, string>>;

const EMPTY: ForwardedHeaders = Object.freeze({});
const captured = requestSlot<ForwardedHeaders>();
/** Every name some `captureHeaders` of this process allows: mcpProxy warns of a passthrough name none does. */
const allowedInProcess = new Set<string>();
let capturesInProcess = 0;

/** Whether a `captureHeaders` ran on this request (even one that captured nothing). */
export function hasCaptureSlot(req: IncomingMessage): boolean {
  return captured.get(req) !== undefined;
}

/** What the `captureHeaders` middlewares built so far allow, for mcpProxy's misconfiguration warnings. */
export function capturesSoFar(): { readonly count: number; readonly allowed: ReadonlySet<string> } {
  return { count: capturesInProcess, allowed: allowedInProcess };
}

/** Where a captureHeaders middleware keeps its configuration, for explain (internal: not exported from the package). */
const CAPTURE_CONFIG = Symbol('captureHeaders configuration');

/**
 * The headers `captureHeaders` stored for this request: a frozen object of lower-case name -> value.
 * Empty when nothing was captured or capture is not mounted.
 */
export function getForwardedHeaders(req: IncomingMessage): ForwardedHeaders {
  return captured.get(req) ?? EMPTY;
}

/**
 * Middleware that captures the `allow`-listed incoming headers, as `req.headers` holds them when it
 * runs (so a value an earlier middleware replaced is the one captured). A captured header the client
 * sent on more than one line, or with a value that is not visible ASCII/space/tab, is answered with
 * 400 and goes no further; an empty value counts as absent.
 */
export function captureHeaders(options: CaptureHeadersOptions): RelayMiddleware {
  const config = parseCaptureOptions(options);
  // Stryker disable next-line AssignmentOperator: only whether any captureHeaders was built matters, which counting down tells as well
  capturesInProcess += 1;
  for (const name of config.allow) allowedInProcess.add(name);
  const middleware: RelayMiddleware = function captureHeadersMiddleware(req, res, next) {
    const result = capture(req, config);
    if (!result.ok) {
      const { reason, header, status } = result.rejection;
      config.logger.info({ reason, header, status }, `captureHeaders: ${status} ${reason}`);
      sendRejection(res, result.rejection);
      return;
    }
    captured.set(req, result.headers);
    next();
  };
  // For explain: a symbol, so the configuration stays off the public surface and out of inspect and JSON.
  return Object.defineProperty(middleware, CAPTURE_CONFIG, { value: config });
}

/** What a captureHeaders middleware would do with `req` (explain's dry run). */
export interface DryCapture {
  /** The names it captures, lower-case. */
  readonly allow: readonly string[];
  readonly result: CaptureResult;
}

/**
 * Runs `middleware`'s capture on `req` and stores what it captured, as the middleware would, without
 * answering anything. `undefined` when `middleware` is not a captureHeaders middleware.
 */
export function dryCapture(middleware: unknown, req: IncomingMessage): DryCapture | undefined {
  // Stryker disable next-line ConditionalExpression: a non-function holds no CAPTURE_CONFIG either, so reading it gives the same undefined
  const config = typeof middleware === 'function' ? (middleware as { [CAPTURE_CONFIG]?: CaptureConfig })[CAPTURE_CONFIG] : undefined;
  if (!config) return undefined;
  const result = capture(req, config);
  // Stryker disable next-line ConditionalExpression: storing nothing for a refused request is not observable: explain stops at the refusal
  if (result.ok) captured.set(req, result.headers);
  return { allow: config.allow, result };
}

type CaptureResult = Checked<{ headers: ForwardedHeaders }>;

function capture(req: IncomingMessage, config: CaptureConfig): CaptureResult {
  const tooMany = checkHeaderCount(req);
  if (tooMany) return refuse(tooMany);
  let values: Record<string, string> | undefined;
  for (const name of config.allow) {
    // What `req.headers` holds now: a value the host app's middleware set or replaced counts, and
    // one it deleted is gone. How many lines there were is what the client sent.
    const value = req.headers[name];
    if (value === undefined) continue;
    if (sentLineCount(req, name) > 1) {
      return refuse(reject(400, 'duplicate_header', `Bad request: header ${displayName(name)} was sent more than once`, name));
    }
    if (typeof value !== 'string') {
      return refuse(reject(400, 'invalid_header_value', `Bad request: header ${name} has more than one value`, name));
    }
    if (value === '') continue;
    const invalid = invalidValueReason(value, config.maxValueLength);
    if (invalid === 'too_long') {
      return refuse(reject(431, 'header_too_large', `Request header field too large: ${name}`, name));
    }
    if (invalid) {
      return refuse(reject(400, 'invalid_header_value', `Bad request: header ${name} has characters other than visible ASCII, space and tab`, name));
    }
    (values ??= {})[name] = value;
  }
  return { ok: true, headers: values ? Object.freeze(values) : EMPTY };
}
