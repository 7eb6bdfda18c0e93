/**
 * The rules every URL option shares (`target`, `tokenEndpoint`): absolute, http: or https:, no
 * credentials (URLs end up in logs), no fragment. Each broken rule throws a HeaderConfigError at `path`.
 */
import { HeaderConfigError, type HeaderConfigErrorCode } from './config-error.js';

/** `credentialsHint` says where a credential belongs instead, e.g. "send the credential as headers.fromSecret". */
export function parseHttpUrl(raw: string | URL, code: HeaderConfigErrorCode, path: string, credentialsHint: string): URL {
  let url: URL;
  try {
    url = new URL(String(raw));
  } catch {
    const port = /^[a-z]+:\/\/[^/?#]*:(\d+)/i.exec(String(raw))?.[1];
    if (port !== undefined && Number(port) > 65535) throw new HeaderConfigError(code, path, `port ${port} is out of range (1-65535)`);
    throw new HeaderConfigError(code, path, 'must be an absolute http:// or https:// URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new HeaderConfigError(code, path, 'must use http: or https:');
  if (url.username || url.password) throw new HeaderConfigError(code, path, `must not contain credentials; URLs end up in logs, so ${credentialsHint}`);
  if (url.hash) throw new HeaderConfigError(code, path, 'must not contain a #fragment');
  return url;
}
