/**
 * A throwaway PKI for the TLS tests, made at test time with the `openssl` CLI in a temp dir (nothing
 * checked in, nothing that expires in the repository): a CA, server and client certificates it signs,
 * and a second, unrelated CA. EC P-256 keys, so generation takes milliseconds.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** A certificate and its private key, PEM. */
export interface KeyPair {
  cert: string;
  key: string;
}

export interface TestPki {
  /** The CA that signs every certificate below (PEM). */
  ca: string;
  /** A CA that signed nothing here: trusting it alone must fail. */
  otherCa: string;
  /** Server certificate for `localhost` and `127.0.0.1` (subjectAltName). */
  server: KeyPair;
  /** Server certificate for `mcp.internal.test` only: reached by IP, it needs `servername`. */
  namedServer: KeyPair;
  /** Server certificate for `localhost` and `127.0.0.1` whose validity ended a day before it began. */
  expiredServer: KeyPair;
  /** Client certificate (extendedKeyUsage clientAuth) for mTLS. */
  client: KeyPair;
  /** The client key encrypted (AES-256) with `passphrase`. */
  encryptedClientKey: string;
  passphrase: string;
}

/** The name only `namedServer`'s certificate carries. */
export const NAMED_SERVER_NAME = 'mcp.internal.test';

function openssl(args: readonly string[], cwd: string): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') {
      throw new Error('test/helpers/test-ca.ts needs the openssl CLI on PATH to generate the test CA (Debian/Ubuntu: apt-get install openssl)');
    }
    const stderr = String((err as { stderr?: Buffer }).stderr ?? '');
    throw new Error(`openssl ${args[0]} failed: ${stderr.trim()}`);
  }
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function makeCa(dir: string, name: string): void {
  openssl(
    [
      'req',
      '-x509',
      ...EC_KEY,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.pem`,
      '-subj',
      `/CN=mcp-header-relay ${name}`,
      '-days',
      '2',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
}

/** A leaf certificate signed by `ca.pem`; `days` -1 makes one that has already expired. */
function makeLeaf(dir: string, name: string, extensions: string, days = 2): KeyPair {
  openssl(['req', '-new', ...EC_KEY, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`], dir);
  writeFileSync(path.join(dir, `${name}.ext`), extensions);
  openssl(
    [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${name}.pem`,
      '-days',
      String(days),
      '-extfile',
      `${name}.ext`,
    ],
    dir,
  );
  return { cert: readFileSync(path.join(dir, `${name}.pem`), 'utf8'), key: readFileSync(path.join(dir, `${name}.key`), 'utf8') };
}

/** Generates the whole set (the temp dir is removed before it returns); throws with a clear message when openssl is missing. */
export function testPki(): TestPki {
  const dir = mkdtempSync(path.join(tmpdir(), 'mcp-relay-pki-'));
  try {
    makeCa(dir, 'ca');
    makeCa(dir, 'other-ca');
    const serverExt = 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n';
    const server = makeLeaf(dir, 'server', serverExt);
    const namedServer = makeLeaf(dir, 'named-server', `subjectAltName=DNS:${NAMED_SERVER_NAME}\nextendedKeyUsage=serverAuth\n`);
    const expiredServer = makeLeaf(dir, 'expired-server', serverExt, -1);
    const client = makeLeaf(dir, 'client', 'extendedKeyUsage=clientAuth\n');
    const passphrase = 'test-passphrase-4d1e';
    openssl(['pkey', '-in', 'client.key', '-aes256', '-passout', `pass:${passphrase}`, '-out', 'client-encrypted.key'], dir);
    return {
      ca: readFileSync(path.join(dir, 'ca.pem'), 'utf8'),
      otherCa: readFileSync(path.join(dir, 'other-ca.pem'), 'utf8'),
      server,
      namedServer,
      expiredServer,
      client,
      encryptedClientKey: readFileSync(path.join(dir, 'client-encrypted.key'), 'utf8'),
      passphrase,
    };
  } finally {
    // Everything is in memory now: the keys never outlive generation on disk, even if a test crashes.
    rmSync(dir, { recursive: true, force: true });
  }
}
