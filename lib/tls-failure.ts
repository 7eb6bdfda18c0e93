/**
 * Which upstream errors are TLS failures (502 `backend_tls_failed`), and what each means in words for
 * the log. Only Node's and OpenSSL's error codes are read: the messages can quote certificate names,
 * and a log line says what to fix without them.
 */

/** OpenSSL's X509 verification results, as Node reports them in `err.code` (docs: tls, "X509 certificate error codes"). */
const CHAIN_CODES = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_CRL',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECRYPT_CRL_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CERT_SIGNATURE_FAILURE',
  'CRL_SIGNATURE_FAILURE',
  'CRL_NOT_YET_VALID',
  'CRL_HAS_EXPIRED',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'ERROR_IN_CRL_LAST_UPDATE_FIELD',
  'ERROR_IN_CRL_NEXT_UPDATE_FIELD',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'CERT_CHAIN_TOO_LONG',
  'CERT_REVOKED',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
]);
const VALIDITY_CODES = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);
const NAME_CODES = new Set(['ERR_TLS_CERT_ALTNAME_INVALID', 'HOSTNAME_MISMATCH']);
/** Node's message when the peer hangs up mid-handshake (a TLS 1.2 server refusing a client without a certificate does). */
const HANDSHAKE_RESET = 'before secure TLS connection was established';

/** A sentence for the log's `detail` when `err` is a TLS failure; `undefined` for any other error. */
export function describeTlsFailure(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return undefined;
  if (CHAIN_CODES.has(code)) return "the backend's certificate does not chain to a trusted CA (tls.ca, or Node's built-in CAs)";
  if (VALIDITY_CODES.has(code)) return "the backend's certificate is expired or not yet valid";
  if (NAME_CODES.has(code)) return "the backend's certificate does not name the host connected to (the target's host, or tls.servername)";
  if (code === 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED') return 'the backend requires a client certificate (tls.cert and tls.key)';
  if (code.startsWith('ERR_SSL_') && code.includes('ALERT')) {
    return 'the backend refused the TLS handshake: it may require a client certificate (tls.cert and tls.key) or not trust the one sent';
  }
  if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || code === 'EPROTO') {
    return 'the TLS handshake failed: the backend may not speak TLS on this port, or refused the handshake';
  }
  if (code === 'ECONNRESET' && String((err as { message?: unknown }).message).includes(HANDSHAKE_RESET)) {
    return 'the backend closed the connection during the TLS handshake: it may require a client certificate (tls.cert and tls.key)';
  }
  return undefined;
}
