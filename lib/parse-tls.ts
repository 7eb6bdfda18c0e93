/**
 * The `tls` and `agent` options of mcpProxy: checked once at construction, so a wrong file or a
 * wrong passphrase fails at start-up instead of as a 502 on every request. Messages name the option
 * and the rule, and at most OpenSSL's error code: never certificate, key or passphrase text.
 */
import { X509Certificate } from 'node:crypto';
import type { Agent } from 'node:http';
import { isIP } from 'node:net';
import tls from 'node:tls';
import { HeaderConfigError } from './config-error.js';
import type { BackendTls } from './config.js';
import type { RelayLogger } from './logger.js';
import type { BackendTlsOptions } from './options.js';

type Pem = string | Buffer;

/** One DNS label: letters, digits, inner hyphens. */
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;
const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
/** A PKCS#8 encrypted key, or a traditional one (`-----BEGIN RSA PRIVATE KEY-----`, `EC`, ...) with an encryption header. */
const ENCRYPTED_KEY = /-----BEGIN ENCRYPTED PRIVATE KEY-----|\nProc-Type: 4,ENCRYPTED/;

/**
 * Rules, in order:
 * 1. `tls` only with an `https:` target (an `http:` target would silently ignore it).
 * 2. Not `tls` and `agent` together: the agent carries its own TLS options, and one would silently lose.
 * 3. `agent` is a Node agent whose fixed protocol, if any, is the target's (Node refuses the other per request).
 * 4. `cert` and `key` together; `passphrase` only with a `key`.
 * 5. `ca`: PEM certificates only, each parseable, at least one (OpenSSL silently skips anything else,
 *    which would leave a route trusting nothing, or Node's defaults, without a word).
 * 6. `key` decrypts with `passphrase` and matches `cert` (tls.createSecureContext, as the handshake will).
 * 7. `servername` is a DNS name, not an IP address (SNI carries names only, RFC 6066).
 * 8. `rejectUnauthorized: false` is allowed, with a warning naming what it disables (also for a user agent set so).
 */
export function parseTls(
  options: BackendTlsOptions | undefined,
  agent: Agent | undefined,
  origin: string,
  logger: Required<RelayLogger>,
): { tls: BackendTls | undefined; agent: Agent | undefined } {
  const protocol = new URL(origin).protocol;
  if (agent) {
    if (options) {
      throw invalid('agent', 'cannot be combined with tls: give the TLS options to your agent (new https.Agent({ ca, cert, key, ... })) or drop agent');
    }
    checkAgentProtocol(agent, protocol);
    if ((agent as { options?: { rejectUnauthorized?: unknown } }).options?.rejectUnauthorized === false) warnUnverified(logger, 'agent');
    return { tls: undefined, agent };
  }
  // Stryker disable next-line ObjectLiteral: the configuration reads tls and agent as properties: absent or undefined is the same
  if (!options) return { tls: undefined, agent: undefined };
  if (protocol !== 'https:') {
    throw invalid('tls', 'applies to an https: target only; this target is http:, so these options would be ignored. Use an https:// target or drop tls');
  }
  const resolved: { -readonly [K in keyof BackendTls]: BackendTls[K] } = { rejectUnauthorized: options.rejectUnauthorized ?? true };
  if (options.ca !== undefined) resolved.ca = parseCa(options.ca);
  if (options.cert !== undefined || options.key !== undefined || options.passphrase !== undefined) Object.assign(resolved, parseClientCertificate(options));
  if (options.servername !== undefined) resolved.servername = parseServername(options.servername);
  if (!resolved.rejectUnauthorized) warnUnverified(logger, 'tls.rejectUnauthorized');
  return { tls: Object.freeze(resolved), agent: undefined };
}

function checkAgentProtocol(agent: Agent, protocol: string): void {
  // Node's agents set `protocol` as an own property; agents that serve both schemes (agent-base,
  // proxy agents) compute it per request and are left to do so.
  const fixed = Object.hasOwn(agent, 'protocol') ? (agent as { protocol?: unknown }).protocol : undefined;
  if (typeof fixed === 'string' && fixed !== protocol) {
    const wanted = protocol === 'https:' ? 'an https.Agent' : 'an http.Agent';
    throw invalid('agent', `is an agent for ${fixed} URLs but the target is ${protocol}; use ${wanted}`);
  }
}

function parseCa(ca: Pem | readonly Pem[]): Pem | Pem[] {
  const list = Array.isArray(ca) ? (ca as readonly Pem[]) : [ca as Pem];
  if (list.length === 0) throw invalid('tls.ca', "lists no certificate: give the CA's PEM file, e.g. fs.readFileSync('ca.pem'), or drop tls.ca");
  list.forEach((entry, i) => checkCertificates(entry, Array.isArray(ca) ? `tls.ca[${i}]` : 'tls.ca', 'CA', false));
  return Array.isArray(ca) ? [...(ca as readonly Pem[])] : (ca as Pem);
}

/**
 * Every certificate block parses and there is at least one; other blocks are refused, except a
 * private key beside a client certificate (a combined cert-and-key file is common and harmless there).
 */
function checkCertificates(pem: Pem, path: string, what: string, keyAllowed: boolean): void {
  const text = pem.toString('latin1');
  let count = 0;
  for (const [block, label] of text.matchAll(PEM_BLOCK)) {
    if (keyAllowed && label!.endsWith('PRIVATE KEY')) continue;
    if (label !== 'CERTIFICATE') {
      const hint = label!.includes('PRIVATE KEY') ? '; a private key never belongs here' : '';
      throw invalid(path, `holds a PEM block that is not a certificate (${label})${hint}`);
    }
    try {
      new X509Certificate(block);
    } catch {
      throw invalid(path, 'holds a PEM certificate block that does not parse');
    }
    // Stryker disable next-line UpdateOperator: only whether any certificate was counted matters, which counting down tells as well
    count++;
  }
  if (count === 0) throw invalid(path, `is not PEM: expected one or more ${what} certificates (-----BEGIN CERTIFICATE-----)`);
}

function parseClientCertificate(options: BackendTlsOptions): Pick<BackendTls, 'cert' | 'key' | 'passphrase'> {
  const { cert, key, passphrase } = options;
  if (key === undefined && passphrase !== undefined) throw invalid('tls.passphrase', 'decrypts tls.key: give tls.key and tls.cert, or drop tls.passphrase');
  if (cert === undefined) throw invalid('tls.key', "needs tls.cert, the client certificate it belongs to, e.g. fs.readFileSync('client.crt')");
  if (key === undefined) throw invalid('tls.cert', "needs tls.key, the certificate's private key, e.g. fs.readFileSync('client.key')");
  checkCertificates(cert, 'tls.cert', 'client', true);
  attempt({ key, passphrase }, (code) => {
    // Not by OpenSSL's code: a wrong passphrase decrypts to garbage, which about one time in 300 passes
    // the padding check and fails later as ERR_OSSL_UNSUPPORTED or an ASN.1 error instead of BAD_DECRYPT.
    if (ENCRYPTED_KEY.test(String(key))) {
      return passphrase === undefined
        ? invalid('tls.passphrase', 'is required: tls.key is encrypted')
        : invalid('tls.passphrase', 'does not decrypt tls.key (wrong passphrase, or the key is damaged)');
    }
    return invalid('tls.key', `is not a usable PEM private key (OpenSSL: ${code})`);
  });
  attempt({ cert, key, passphrase }, (code) =>
    code === 'ERR_OSSL_X509_KEY_VALUES_MISMATCH'
      ? invalid('tls.key', 'does not belong to tls.cert (the key pair does not match)')
      : invalid('tls.cert', `is not a usable client certificate chain (OpenSSL: ${code})`),
  );
  return passphrase === undefined ? { cert, key } : { cert, key, passphrase };
}

/** Builds a secure context as the handshake will; a failure becomes the error `explain` gives for OpenSSL's code. */
function attempt(options: tls.SecureContextOptions, explain: (code: string) => HeaderConfigError): void {
  try {
    tls.createSecureContext(options);
  } catch (err) {
    // Only the code: OpenSSL's message is safe today, but the rule is that nothing read from the files is quoted.
    const code = (err as { code?: unknown }).code;
    // Stryker disable next-line ConditionalExpression,StringLiteral: createSecureContext's errors always carry a string code (OpenSSL's or Node's)
    throw explain(typeof code === 'string' ? code : 'unknown error');
  }
}

function parseServername(name: string): string {
  // Stryker disable next-line Regex: a bracket anywhere else leaves no DNS name either, refused by the check below
  if (isIP(name.replace(/^\[|\]$/g, ''))) {
    throw invalid(
      'tls.servername',
      'must be a DNS name, not an IP address: SNI carries names only; to reach a backend by IP, its certificate must list that IP',
    );
  }
  const labels = name.replace(/\.$/, '').split('.');
  if (name.length > 253 || !labels.every((label) => LABEL.test(label))) {
    throw invalid('tls.servername', "must be a DNS name (letters, digits, inner hyphens, dot-separated), e.g. 'mcp.internal.example'");
  }
  return name;
}

function warnUnverified(logger: Required<RelayLogger>, option: string): void {
  logger.warn(
    { option },
    "mcpProxy: TLS certificate verification is off for this route (rejectUnauthorized: false): the backend's certificate chain and name are not checked, so anyone on the network path can pose as the backend and read every header this route sends, secrets included. Trust the backend's CA with tls.ca instead",
  );
}

function invalid(path: string, rule: string): HeaderConfigError {
  return new HeaderConfigError('ERR_INVALID_TLS', path, rule);
}
