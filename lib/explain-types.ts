/**
 * Explain's public types: the input of `route.explain` and the plain-data result it returns
 * (explain.ts runs the dry run; explain-report.ts fills in the three lists).
 */
import type { ParserRefusal } from './explain-request.js';
import type { RelayMiddleware } from './options.js';
import type { RejectReason } from './rejection.js';

/** One request to explain: what a client would send to the route's mount point. */
export interface ExplainInput {
  /** The request's headers as the client sends them, in order: name -> value, or one value per line for a header sent more than once. */
  headers: Readonly<Record<string, string | readonly string[]>>;
  /** @default 'POST' */
  method?: 'POST' | 'GET' | 'DELETE' | (string & {});
  /** The URL below the route's mount point, with its query, as `req.url` is when mcpProxy runs. @default '/' */
  path?: string;
  /** The authenticated identity for `{principal}` templates, instead of calling the route's `principal` function. */
  principal?: string;
  /** The `captureHeaders(...)` middleware mounted in front of this route. Without it no header counts as captured. */
  capture?: RelayMiddleware;
  /** Show forwarded values. Secret-backed, per-user credential and `authorization`/`cookie` values stay masked. @default false */
  reveal?: boolean;
  /** The address the request arrives on; the DNS-rebinding guard's defaults depend on it (loopback or not). @default '127.0.0.1' */
  localAddress?: string;
}

/** Where a forwarded header's value comes from (the policy's steps, and Node's HTTP client for `transport`). */
export type ForwardedSource = 'protocol' | 'framing' | 'captured' | 'renamed' | 'template' | 'request' | 'credential' | 'static' | 'secret' | 'transport';

/**
 * Why a header the client sent does not reach the backend. See docs/operations.md (Explain). The one
 * list of these words: step 4's rule (NotTakenReason) and the metrics (HeaderDropReason) take theirs from it.
 */
export type DropReason =
  | 'not_captured'
  | 'empty_value'
  | 'not_in_passthrough'
  | 'credential_not_allowed'
  | 'overridden_by_route'
  | 'read_by_route'
  | 'hop_by_hop'
  | 'set_by_relay'
  | 'restricted'
  | 'session_id_not_forwarded';

/** Why a header the route sets itself is not sent with this request. */
export type OmitReason = 'input_absent' | 'no_value' | 'no_credential';

export interface ExplainedHeader {
  /** Lower-case. */
  readonly name: string;
  /** `'***'` when masked. */
  readonly value: string;
  readonly masked: boolean;
  readonly source: ForwardedSource;
  /** Where the route's value comes from (a captured name, a secret name, a credential source's description): never a value. */
  readonly detail?: string;
}

export interface DroppedHeader {
  /** Lower-case. */
  readonly name: string;
  readonly reason: DropReason;
  readonly detail: string;
}

export interface OmittedHeader {
  readonly name: string;
  readonly source: 'renamed' | 'template' | 'request' | 'credential';
  readonly reason: OmitReason;
  readonly detail: string;
}

/** The answer the client would get instead of a forwarded request, and which part gives it. */
export interface ExplainedRejection {
  readonly status: number;
  readonly reason: RejectReason | ParserRefusal['reason'];
  readonly message: string;
  readonly header?: string;
  /** What the log line says: names and rules, never a value. */
  readonly detail?: string;
  readonly by: 'node:http' | 'captureHeaders' | 'mcpProxy';
}

/** Plain data, JSON-serializable, in a stable order. Holds no secret or credential value. */
export interface Explanation {
  /** The route's name. */
  readonly route: string;
  readonly method: string;
  /** The upstream URL the request would go to. */
  readonly target: string;
  readonly outcome: 'forwarded' | 'rejected';
  readonly rejection?: ExplainedRejection;
  /** What the backend would receive, in the policy's order (protocol, framing, captured, renamed, computed, static, secret), then what Node's client adds. Empty when rejected. */
  readonly forwarded: readonly ExplainedHeader[];
  /** Every header the client sent that would not reach the backend (its own copy), in the order sent. Empty when rejected. */
  readonly dropped: readonly DroppedHeader[];
  /** The route's renamed, templated, computed and credential headers this request would not get. Empty when rejected. */
  readonly omitted: readonly OmittedHeader[];
  /** What explain assumed or could not know. */
  readonly notes: readonly string[];
}
