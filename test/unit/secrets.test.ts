import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { HeaderConfigError, SecretReadError, envSecrets, fileSecrets, mcpProxy, type SecretProvider } from '../../lib/index.js';
import { captureLogger } from '../helpers/capture-logger.js';
import { expectConfigError } from '../helpers/config-errors.js';
import { label } from '../helpers/labels.js';
import { hasMkfifo, secretInChild } from '../helpers/secret-child.js';
import { SENTINEL as SENTINEL_PREFIX } from '../helpers/sentinel.js';
import { sleep } from '../helpers/wait.js';

const TARGET = 'http://127.0.0.1:9/mcp';
const SENTINEL = `${SENTINEL_PREFIX}-secrets-5b2e81`;

const withSecret = (secrets: SecretProvider, secret = 'API_KEY', extra: Record<string, unknown> = {}): unknown =>
  mcpProxy({ target: TARGET, headers: { fromSecret: { 'X-Api-Key': secret } }, secrets, logger: captureLogger(), ...extra });

let dir: string;
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-secrets-'));
});
after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});
let counter = 0;
/** Writes a secret file with a fresh name into the temp dir and returns the name. */
function secretFile(content: string | Buffer): string {
  const name = `SECRET_${++counter}`;
  fs.writeFileSync(path.join(dir, name), content);
  return name;
}

describe('envSecrets', () => {
  it('reads from a custom env record; a missing name is undefined', () => {
    const provider = envSecrets({ API_KEY: 'value-1' });
    assert.equal(provider.read('API_KEY'), 'value-1');
    assert.equal(provider.read('OTHER'), undefined);
    assert.equal(provider.description, 'environment variable');
  });

  for (const name of ['toString', 'constructor', '__proto__', 'hasOwnProperty', 'valueOf']) {
    it(`own properties only: "${name}" is missing`, () => {
      assert.equal(envSecrets({ API_KEY: 'v' }).read(name), undefined);
    });
  }

  it('own properties only: inherited values are ignored, in a custom record and in process.env', () => {
    const inherited = envSecrets(Object.create({ INHERITED: 'from-prototype' }) as NodeJS.ProcessEnv);
    assert.equal(inherited.read('INHERITED'), undefined);
    assert.equal(envSecrets().read('toString'), undefined);
  });

  it('reads process.env live by default, so a rotated variable is picked up', () => {
    const name = 'MCP_RELAY_SECRETS_TEST_ROTATE';
    const provider = envSecrets();
    try {
      process.env[name] = 'first';
      assert.equal(provider.read(name), 'first');
      process.env[name] = 'second';
      assert.equal(provider.read(name), 'second');
      delete process.env[name];
      assert.equal(provider.read(name), undefined);
    } finally {
      delete process.env[name];
    }
  });

  it('the provider is frozen', () => {
    const provider = envSecrets({});
    assert.ok(Object.isFrozen(provider));
    assert.throws(() => {
      (provider as { read: unknown }).read = () => 'x';
    }, TypeError);
  });
});

describe('fileSecrets', () => {
  const configError = (e: unknown): boolean => e instanceof HeaderConfigError && e.code === 'ERR_INVALID_OPTION';

  it('rejects a bad dir at creation', () => {
    assert.throws(() => fileSecrets(''), configError);
    assert.throws(() => fileSecrets(1 as unknown as string), configError);
  });

  for (const bad of [-1, NaN, Infinity, '30']) {
    it(`rejects refreshInterval ${label(bad)} at creation`, () => {
      assert.throws(() => fileSecrets(dir, { refreshInterval: bad as number }), configError);
    });
  }

  it('accepts refreshInterval 0', () => {
    assert.doesNotThrow(() => fileSecrets(dir, { refreshInterval: 0 }));
  });

  it('reads a value; describes itself by directory only', () => {
    const name = secretFile('value-1');
    const provider = fileSecrets(dir);
    assert.equal(provider.read(name), 'value-1');
    assert.equal(provider.description, `file in ${path.resolve(dir)}`);
  });

  const newlineCases: [string, string][] = [
    ['abc\n', 'abc'],
    ['abc\r\n', 'abc'],
    ['abc', 'abc'],
    ['abc\n\n', 'abc\n'],
    ['abc\r\n\r\n', 'abc\r\n'],
    ['abc\n\r\n', 'abc\n'],
    ['abc\r', 'abc\r'],
    ['\n', ''],
  ];
  for (const [content, expected] of newlineCases) {
    it(`strips exactly one trailing newline: ${JSON.stringify(content)} → ${JSON.stringify(expected)}`, () => {
      assert.equal(fileSecrets(dir).read(secretFile(content)), expected);
    });
  }

  it('B15: a file with two trailing newlines keeps one, and mcpProxy then refuses it (ERR_SECRET_INVALID)', () => {
    const name = secretFile(`${SENTINEL}\n\n`);
    const err = expectConfigError(() => withSecret(fileSecrets(dir), name), 'ERR_SECRET_INVALID', 'headers.fromSecret["X-Api-Key"]');
    assert.ok(!err.message.includes(name));
    assert.doesNotThrow(() => withSecret(fileSecrets(dir), secretFile(`${SENTINEL}\r\n`)));
  });

  it('a missing file is undefined', () => {
    assert.equal(fileSecrets(dir).read('NOT_THERE'), undefined);
    assert.equal(fileSecrets(path.join(dir, 'no-such-dir')).read('X'), undefined);
  });

  it('a directory throws SecretReadError', () => {
    fs.mkdirSync(path.join(dir, 'A_DIRECTORY'));
    assert.throws(
      () => fileSecrets(dir).read('A_DIRECTORY'),
      (e: unknown) => e instanceof SecretReadError && e.name === 'SecretReadError' && /regular file/.test(e.message),
    );
  });

  it('C11: a FIFO throws promptly without hanging (checked in a child process)', { skip: hasMkfifo() ? false : 'mkfifo is not available' }, async () => {
    execFileSync('mkfifo', [path.join(dir, 'A_FIFO')]);
    const started = Date.now();
    const result = await secretInChild(dir, 'A_FIFO');
    assert.ok(Date.now() - started < 15_000);
    assert.equal(result.read.threw, true);
    assert.equal(result.read.name, 'SecretReadError');
    assert.ok(result.read.ms < 3000, `read took ${result.read.ms} ms`);
    assert.equal(result.construct.threw, true);
    assert.equal(result.construct.code, 'ERR_SECRET_INVALID');
    assert.equal(result.construct.path, 'headers.fromSecret["X-Api-Key"]');
    assert.ok(result.construct.ms < 3000);
  });

  it(
    'C11: /dev/zero behind a symlink named like a secret throws promptly (checked in a child process)',
    { skip: fs.existsSync('/dev/zero') ? false : 'no /dev/zero' },
    async () => {
      fs.symlinkSync('/dev/zero', path.join(dir, 'ZERO_KEY'));
      const result = await secretInChild(dir, 'ZERO_KEY');
      assert.equal(result.read.threw, true);
      assert.equal(result.read.name, 'SecretReadError');
      assert.ok(result.read.ms < 3000, `read took ${result.read.ms} ms`);
      assert.equal(result.construct.code, 'ERR_SECRET_INVALID');
    },
  );

  it('size limit: 65538 bytes (the 64 KiB maxValueLength ceiling + CRLF) is read, 65539 bytes and 1 MiB throw', () => {
    const exact = secretFile(`${'a'.repeat(65536)}\r\n`);
    assert.equal(fileSecrets(dir).read(exact), 'a'.repeat(65536));
    const over = secretFile('a'.repeat(65539));
    assert.throws(() => fileSecrets(dir).read(over), SecretReadError);
    const huge = secretFile(Buffer.alloc(1024 * 1024, 0x61));
    const started = Date.now();
    assert.throws(
      () => fileSecrets(dir).read(huge),
      (e: unknown) => e instanceof SecretReadError && /larger than 65538 bytes/.test(e.message),
    );
    assert.ok(Date.now() - started < 3000);
  });

  it('rotation: with refreshInterval 20 an in-place rewrite is read after the interval', async () => {
    const name = secretFile('old-value');
    const provider = fileSecrets(dir, { refreshInterval: 20 });
    assert.equal(provider.read(name), 'old-value');
    fs.writeFileSync(path.join(dir, name), 'new-value-2\n');
    await sleep(60);
    assert.equal(provider.read(name), 'new-value-2');
  });

  it('rotation: a same-length rewrite and an atomic rename (Kubernetes style) are both picked up', async () => {
    const name = secretFile('value-AAAA');
    const provider = fileSecrets(dir, { refreshInterval: 20 });
    assert.equal(provider.read(name), 'value-AAAA');
    await sleep(30);
    fs.writeFileSync(path.join(dir, name), 'value-BBBB');
    await sleep(60);
    assert.equal(provider.read(name), 'value-BBBB');
    const temp = path.join(dir, `${name}.tmp`);
    fs.writeFileSync(temp, 'value-CCCC');
    fs.renameSync(temp, path.join(dir, name));
    await sleep(60);
    assert.equal(provider.read(name), 'value-CCCC');
  });

  it('rotation: a deleted file becomes missing after the interval', async () => {
    const name = secretFile('soon-gone');
    const provider = fileSecrets(dir, { refreshInterval: 20 });
    assert.equal(provider.read(name), 'soon-gone');
    fs.rmSync(path.join(dir, name));
    await sleep(60);
    assert.equal(provider.read(name), undefined);
  });

  it('with refreshInterval 60000 the cached value is kept', async () => {
    const name = secretFile('cached-value');
    const provider = fileSecrets(dir, { refreshInterval: 60_000 });
    assert.equal(provider.read(name), 'cached-value');
    fs.writeFileSync(path.join(dir, name), 'changed-value');
    await sleep(60);
    assert.equal(provider.read(name), 'cached-value');
    // A fresh provider sees the new content, so the file really changed.
    assert.equal(fileSecrets(dir).read(name), 'changed-value');
  });

  describe('names with "/" or ".." (or a leading dot/dash) are refused, and nothing outside the dir is read', () => {
    /** A file holding the sentinel next to the secrets dir, which `../<name>` would reach. */
    let outsideName = '';
    before(() => {
      outsideName = `outside-${path.basename(dir)}`;
      fs.writeFileSync(path.join(path.dirname(dir), outsideName), SENTINEL);
    });
    after(() => {
      fs.rmSync(path.join(path.dirname(dir), outsideName), { force: true });
    });
    /** Stands for `../<outsideName>`, known only once before() has run. */
    const OUTSIDE = '../outside-<dir name>';
    for (const name of [OUTSIDE, '..', 'a/b', '/etc/passwd', '.hidden', '-x', '', 'a\\b', 'a\0b']) {
      it(`the name ${label(name)} is refused with a SecretReadError that does not hold the value`, () => {
        const read = name === OUTSIDE ? `../${outsideName}` : name;
        assert.ok(fs.existsSync(path.join(dir, '..', outsideName)), 'precondition: the outside file exists');
        assert.throws(
          () => fileSecrets(dir).read(read),
          (e: unknown) => e instanceof SecretReadError && !e.message.includes(SENTINEL),
        );
      });
    }
  });

  /** A provider of each kind that has read the sentinel, so it holds the value. */
  const providersAfterRead: [string, () => SecretProvider][] = [
    [
      'fileSecrets',
      () => {
        const file = fileSecrets(dir);
        assert.equal(file.read(secretFile(SENTINEL)), SENTINEL);
        return file;
      },
    ],
    [
      'envSecrets',
      () => {
        const env = envSecrets({ API_KEY: SENTINEL });
        assert.equal(env.read('API_KEY'), SENTINEL);
        return env;
      },
    ],
  ];
  for (const [kind, build] of providersAfterRead) {
    it(`H2: util.inspect, JSON.stringify and String of a ${kind} provider show only its description, even after reads`, () => {
      const provider = build();
      const expected = `SecretProvider(${provider.description})`;
      assert.equal(inspect(provider), expected);
      assert.equal(String(provider as unknown), expected);
      // A template literal coerces the way a logging library does; the cast only satisfies the types.
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-template-expression
      assert.equal(`${provider as unknown as string}`, expected);
      assert.equal(JSON.stringify(provider), JSON.stringify(expected));
      const views = [
        inspect(provider, { showHidden: true, depth: Infinity }),
        inspect(provider, { customInspect: false, showHidden: true, depth: Infinity }),
        inspect({ config: { secrets: provider } }, { depth: Infinity }),
        JSON.stringify({ config: { secrets: provider } }),
      ];
      for (const view of views) assert.ok(!view.includes(SENTINEL), view);
    });
  }
});

describe('mcpProxy with fromSecret through these providers', () => {
  const errPath = 'headers.fromSecret["X-Api-Key"]';

  it('missing env secret → ERR_SECRET_MISSING naming the header path; the secret name and source only in the error log', () => {
    const logger = captureLogger();
    const err = expectConfigError(() => withSecret(envSecrets({}), 'GITHUB_API_KEY', { logger }), 'ERR_SECRET_MISSING', errPath);
    assert.doesNotMatch(err.message, /GITHUB_API_KEY|environment variable/);
    assert.deepEqual(
      logger.lines.filter((l) => l.level === 'error').map((l) => l.fields),
      [{ route: '127.0.0.1:9/mcp', option: errPath, secret: 'GITHUB_API_KEY', source: 'environment variable' }],
    );
  });

  it('missing file secret → ERR_SECRET_MISSING naming the header path; the file name and directory only in the error log', () => {
    const logger = captureLogger();
    const err = expectConfigError(() => withSecret(fileSecrets(dir), 'NO_SUCH_FILE', { logger }), 'ERR_SECRET_MISSING', errPath);
    assert.ok(!err.message.includes('NO_SUCH_FILE') && !err.message.includes(path.resolve(dir)), err.message);
    const logged = JSON.stringify(logger.lines.filter((l) => l.level === 'error'));
    assert.ok(logged.includes('NO_SUCH_FILE') && logged.includes(path.resolve(dir)), logged);
  });

  const invalid: [string, string, RegExp][] = [
    ['empty', '', /empty/],
    ['CRLF inside', `${SENTINEL}\r\nX-Evil: 1`, /characters/],
    ['LF inside', `${SENTINEL}\nmore`, /characters/],
    ['NUL inside', `${SENTINEL}\u0000`, /characters/],
    ['leading space', ` ${SENTINEL}`, /whitespace/],
    ['trailing tab', `${SENTINEL}\t`, /whitespace/],
    ['non-ASCII', `${SENTINEL}-ключ`, /characters/],
    ['too long', `${SENTINEL}${'x'.repeat(8192)}`, /longer than 8192/],
  ];
  for (const [label, value, rule] of invalid) {
    it(`env secret ${label} → ERR_SECRET_INVALID without the value`, () => {
      const err = expectConfigError(() => withSecret(envSecrets({ API_KEY: value })), 'ERR_SECRET_INVALID', errPath);
      assert.match(err.message, rule);
      assert.ok(!err.message.includes('API_KEY'));
    });
  }

  for (const [label, value] of invalid) {
    it(`file secret ${label} → ERR_SECRET_INVALID without the value`, () => {
      const name = secretFile(value);
      expectConfigError(() => withSecret(fileSecrets(dir), name), 'ERR_SECRET_INVALID', errPath);
    });
  }

  it('a file holding only "\\n" is empty after stripping → ERR_SECRET_INVALID', () => {
    const err = expectConfigError(() => withSecret(fileSecrets(dir), secretFile('\n')), 'ERR_SECRET_INVALID', errPath);
    assert.match(err.message, /empty/);
  });

  it('maxValueLength applies to secrets: 10 ok, 11 → ERR_SECRET_INVALID', () => {
    assert.doesNotThrow(() => withSecret(envSecrets({ API_KEY: 'a'.repeat(10) }), 'API_KEY', { maxValueLength: 10 }));
    expectConfigError(() => withSecret(envSecrets({ API_KEY: `${SENTINEL}a` }), 'API_KEY', { maxValueLength: SENTINEL.length }), 'ERR_SECRET_INVALID', errPath);
  });

  it('a directory in place of the secret file → ERR_SECRET_INVALID saying it is not a regular file', () => {
    fs.mkdirSync(path.join(dir, 'DIR_SECRET'));
    const err = expectConfigError(() => withSecret(fileSecrets(dir), 'DIR_SECRET'), 'ERR_SECRET_INVALID', errPath);
    assert.match(err.message, /regular file/);
  });

  it('a custom provider that throws a plain Error carrying the value: reported without its message', () => {
    const provider: SecretProvider = {
      description: 'vault',
      read: () => {
        throw new Error(`could not parse ${SENTINEL}`);
      },
    };
    const err = expectConfigError(() => withSecret(provider), 'ERR_SECRET_INVALID', errPath);
    assert.match(err.message, /cannot be read/);
    assert.equal((err as Error & { cause?: unknown }).cause, undefined);
  });

  it('a custom provider that throws SecretReadError: its (value-free) message is shown', () => {
    const provider: SecretProvider = {
      description: 'vault',
      read: () => {
        throw new SecretReadError('vault sealed');
      },
    };
    const err = expectConfigError(() => withSecret(provider), 'ERR_SECRET_INVALID', errPath);
    assert.match(err.message, /vault sealed/);
    assert.doesNotMatch(err.message, /vault\)|API_KEY/);
  });

  const nonStrings: [string, unknown][] = [
    ['a number', 12345],
    ['an object whose toString gives the value', { toString: () => SENTINEL }],
    ['an array holding the value', [SENTINEL]],
    ['null', null],
    ['true', true],
  ];
  for (const [what, value] of nonStrings) {
    it(`a custom provider returning ${what} is refused without stringifying it`, () => {
      const provider: SecretProvider = { description: 'custom', read: () => value as string };
      expectConfigError(() => withSecret(provider), 'ERR_SECRET_INVALID', errPath);
    });
  }

  it('the startup log of a route with secrets names headers, never values', () => {
    const log = captureLogger();
    mcpProxy({
      target: TARGET,
      headers: { fromSecret: { 'X-Api-Key': 'API_KEY' } },
      secrets: envSecrets({ API_KEY: SENTINEL }),
      logger: log,
    });
    assert.ok(log.text().includes('x-api-key'));
    assert.ok(!log.text().includes(SENTINEL), log.text());
  });
});
