/**
 * PEM files a gateway file names, read at load (a missing file fails start-up and `check`): a route's
 * `tls` to its backend, and a listener's own `tls`. Errors name the path in the gateway file and the
 * PEM file's path, never its contents; a key that does not fit its certificate is caught here too.
 */
import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import type { BackendTlsOptions } from '../options.js';
import { ConfigFileError, type Listener, type RouteConfig } from './config-file.js';

/** What an HTTPS listener is made with, and what `setSecureContext` takes on a reload. */
export interface ListenerTls extends SecureContextOptions {
  readonly requestCert: boolean;
  readonly rejectUnauthorized: boolean;
}

type PemReader = (key: string, pemFile: string) => Buffer;

function pemReader(file: string, at: string): PemReader {
  return (key, pemFile) => {
    try {
      return readFileSync(pemFile);
    } catch (error) {
      throw new ConfigFileError(file, { path: `${at}.${key}`, rule: `cannot read ${pemFile} (${(error as NodeJS.ErrnoException).code ?? 'error'})` });
    }
  };
}

const readList = (read: PemReader, key: string, files: string | string[]): Buffer | Buffer[] =>
  Array.isArray(files) ? files.map((f, i) => read(`${key}[${i}]`, f)) : read(key, files);

function passphrase(file: string, at: string, variable: string, env: NodeJS.ProcessEnv): string {
  const value = env[variable];
  if (value === undefined)
    throw new ConfigFileError(file, { path: `${at}.passphraseEnv`, rule: `names the environment variable ${variable}, which is not set` });
  return value;
}

/** A route's `tls` as the library's BackendTlsOptions (checked by mcpProxy()). */
export function readBackendTls(file: string, at: string, tls: NonNullable<RouteConfig['tls']>, env: NodeJS.ProcessEnv): BackendTlsOptions {
  const read = pemReader(file, at);
  const out: BackendTlsOptions = {};
  if (tls.caFile !== undefined) out.ca = readList(read, 'caFile', tls.caFile);
  if (tls.certFile !== undefined) out.cert = read('certFile', tls.certFile);
  if (tls.keyFile !== undefined) out.key = read('keyFile', tls.keyFile);
  if (tls.passphraseEnv !== undefined) out.passphrase = passphrase(file, at, tls.passphraseEnv, env);
  if (tls.servername !== undefined) out.servername = tls.servername as string;
  if (tls.rejectUnauthorized !== undefined) out.rejectUnauthorized = tls.rejectUnauthorized as boolean;
  return out;
}

/** A listener's `tls`, checked by building a secure context from it: a key that does not fit its certificate fails here, not at the first client. */
export function readListenerTls(file: string, at: string, tls: NonNullable<Listener['tls']>, env: NodeJS.ProcessEnv): ListenerTls {
  const read = pemReader(file, at);
  const clientCa = tls.clientCaFile === undefined ? undefined : readList(read, 'clientCaFile', tls.clientCaFile);
  const options: ListenerTls = {
    cert: read('certFile', tls.certFile),
    key: read('keyFile', tls.keyFile),
    ...(tls.passphraseEnv === undefined ? {} : { passphrase: passphrase(file, at, tls.passphraseEnv, env) }),
    ...(clientCa === undefined ? {} : { ca: clientCa }),
    requestCert: clientCa !== undefined,
    rejectUnauthorized: clientCa !== undefined,
  };
  try {
    createSecureContext(options);
  } catch (error) {
    // OpenSSL's message names the failing check, not the key; the code alone is enough and safe.
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).name;
    throw new ConfigFileError(file, { path: at, rule: `the certificate, key and passphrase do not form a usable TLS identity (${code})` });
  }
  return options;
}
