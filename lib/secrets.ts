/**
 * Secret providers and the rules a secret value must meet. Values are read on every request (cheap:
 * an environment lookup, or a cached file re-read only when the file changed), so a rotated secret is
 * picked up without a restart. No value is ever kept in an object that gets logged or thrown.
 */
import fs from 'node:fs';
import path from 'node:path';
import { inspect } from 'node:util';
import { HeaderConfigError } from './config-error.js';
import { MAX_VALUE_LENGTH_LIMIT, invalidValueReason } from './header-rules.js';

/**
 * Where secret-backed header values come from. `read` is synchronous because it runs on the request
 * path: a provider backed by a remote vault should refresh its own cache in the background.
 */
export interface SecretProvider {
  /** Describes the source in error messages, e.g. `environment variable`. Never a value. */
  readonly description: string;
  /**
   * The current value of the secret, or `undefined` when it does not exist. Throw an `Error` whose
   * message does not contain the value when the source exists but cannot be read.
   */
  read(name: string): string | undefined;
}

/**
 * Thrown by providers when a secret exists but cannot be used. Its message is shown in errors and
 * logs, so it must describe the problem without quoting the value. Any other error thrown by a
 * provider is reported without its message, in case that message carries a value.
 */
export class SecretReadError extends Error {
  override name = 'SecretReadError';
}

/** Secret names are file names for `fileSecrets`, so they never contain a path. */
const SECRET_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,254}$/;

export function invalidSecretNameReason(name: string): string | undefined {
  return SECRET_NAME.test(name) ? undefined : 'secret names are 1-255 letters, digits, ".", "_" or "-", not starting with "." or "-"';
}

/** Reads `process.env[name]` (or the given record) on every request. The default provider. */
export function envSecrets(env: NodeJS.ProcessEnv = process.env): SecretProvider {
  return redacted('SecretProvider', {
    description: 'environment variable',
    read: (name: string) => (Object.hasOwn(env, name) ? env[name] : undefined),
  });
}

export interface FileSecretsOptions {
  /** How often (ms) a file is checked for a change; the value is cached in between. Default 1000. */
  refreshInterval?: number;
}

/**
 * Largest secret file read: the highest `maxValueLength` plus a trailing CRLF. The route's own
 * `maxValueLength` is then applied to the value like to any other.
 */
const MAX_SECRET_FILE_BYTES = MAX_VALUE_LENGTH_LIMIT + 2;

interface CachedFile {
  checkedAt: number;
  signature: string;
  value: string;
}

/**
 * Reads one file per secret from `dir` (`/run/secrets/GITHUB_API_KEY`), the Docker and Kubernetes
 * convention. One trailing newline is removed. A file is re-read when its inode, size or mtime
 * changes, checked at most every `refreshInterval` ms. Directories, FIFOs, devices and files over
 * 64 KiB are refused without being read.
 */
export function fileSecrets(dir: string, options: FileSecretsOptions = {}): SecretProvider {
  if (typeof dir !== 'string' || dir.length === 0) {
    throw new HeaderConfigError('ERR_INVALID_OPTION', 'fileSecrets(dir)', 'dir must be a non-empty directory path');
  }
  const refreshInterval = options.refreshInterval ?? 1000;
  if (!Number.isFinite(refreshInterval) || refreshInterval < 0) {
    throw new HeaderConfigError('ERR_INVALID_OPTION', 'fileSecrets(dir, { refreshInterval })', 'refreshInterval must be a finite number >= 0 (ms)');
  }
  const root = path.resolve(dir);
  const cache = new Map<string, CachedFile>();

  function read(name: string): string | undefined {
    if (invalidSecretNameReason(name)) throw new SecretReadError(`secret name is not a plain file name`);
    const now = Date.now();
    const cached = cache.get(name);
    if (cached && now - cached.checkedAt < refreshInterval) return cached.value;
    const file = path.join(root, name);
    let stat: fs.Stats;
    try {
      stat = fs.statSync(file);
    } catch (error) {
      cache.delete(name);
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new SecretReadError(`file cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    checkFileStat(stat);
    const signature = `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeMs}:${stat.ctimeMs}`;
    if (cached && cached.signature === signature) {
      cached.checkedAt = now;
      return cached.value;
    }
    const value = stripOneNewline(readBounded(file));
    cache.set(name, { checkedAt: now, signature, value });
    return value;
  }

  return redacted('SecretProvider', { description: `file in ${root}`, read });
}

function checkFileStat(stat: fs.Stats): void {
  if (!stat.isFile()) throw new SecretReadError('path is not a regular file');
  if (stat.size > MAX_SECRET_FILE_BYTES) throw new SecretReadError(`file is larger than ${MAX_SECRET_FILE_BYTES} bytes`);
}

/** Opens non-blocking (a FIFO swapped in after the stat cannot hang us) and reads at most the limit. */
function readBounded(file: string): string {
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  try {
    checkFileStat(fs.fstatSync(fd));
    const buffer = Buffer.alloc(MAX_SECRET_FILE_BYTES + 1);
    let length = 0;
    for (;;) {
      const n = fs.readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
      if (length > MAX_SECRET_FILE_BYTES) throw new SecretReadError(`file is larger than ${MAX_SECRET_FILE_BYTES} bytes`);
    }
    return buffer.toString('latin1', 0, length);
  } finally {
    fs.closeSync(fd);
  }
}

function stripOneNewline(value: string): string {
  if (value.endsWith('\r\n')) return value.slice(0, -2);
  if (value.endsWith('\n')) return value.slice(0, -1);
  return value;
}

/**
 * Keeps an object with a `description` (a secret provider, a credential source) from printing
 * anything else in logs, JSON or inspect: its closures may hold secrets.
 */
export function redacted<T extends { readonly description: string }>(kind: string, value: T): T {
  const describe = (): string => `${kind}(${value.description})`;
  return Object.freeze({
    ...value,
    toJSON: describe,
    toString: describe,
    [inspect.custom]: describe,
  });
}

export type SecretProblem = 'missing' | 'empty' | 'unreadable' | 'too_long' | 'bad_characters' | 'surrounding_whitespace';

export type SecretResult = { ok: true; value: string } | { ok: false; problem: SecretProblem; detail?: string };

/** Reads and validates one secret. Never throws; a problem description never contains the value. */
export function readSecret(provider: SecretProvider, name: string, maxLength: number): SecretResult {
  let value: unknown;
  try {
    value = provider.read(name);
  } catch (error) {
    return { ok: false, problem: 'unreadable', detail: error instanceof SecretReadError ? error.message : undefined };
  }
  if (value === undefined) return { ok: false, problem: 'missing' };
  if (typeof value !== 'string') return { ok: false, problem: 'unreadable', detail: 'provider returned a non-string' };
  if (value.length === 0) return { ok: false, problem: 'empty' };
  const reason = invalidValueReason(value, maxLength);
  if (reason) return { ok: false, problem: reason };
  if (/^[ \t]|[ \t]$/.test(value)) return { ok: false, problem: 'surrounding_whitespace' };
  return { ok: true, value };
}

/** Words for a problem, for errors and logs. `detail` comes from our providers and holds no value. */
export function describeSecretProblem(result: Extract<SecretResult, { ok: false }>, maxLength: number): string {
  switch (result.problem) {
    case 'missing':
      return 'is missing';
    case 'empty':
      return 'is empty';
    case 'unreadable':
      return `cannot be read${result.detail ? `: ${result.detail}` : ''}`;
    case 'too_long':
      return `is longer than ${maxLength} bytes`;
    case 'bad_characters':
      return 'contains characters other than visible ASCII, space and tab (CR, LF, NUL, controls or non-ASCII)';
    case 'surrounding_whitespace':
      return 'starts or ends with whitespace';
  }
}
