/**
 * tokenExchange() without a server: every option is checked at construction (HeaderConfigError with
 * the option path, never a value), http: only to loopback unless allowed, the client secret must be
 * readable at start-up, the default cache key is an HMAC of the subject token, the source prints
 * its description only, and oauth4webapi is not loaded until the first exchange.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { inspect, promisify } from 'node:util';
import { describe, it } from 'node:test';
import { envSecrets, HeaderConfigError, tokenExchange, type HeaderConfigErrorCode, type TokenExchangeOptions } from '../../lib/index.js';
import { captureLogger } from '../helpers/capture-logger.js';

const SENTINEL = 'S3NT1NEL-exchange-42f9aa';
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const LIB_INDEX = new URL('../../lib/index.ts', import.meta.url).href;

const secrets = envSecrets({ CLIENT_SECRET: SENTINEL });

function options(extra: Record<string, unknown> = {}): TokenExchangeOptions {
  return {
    tokenEndpoint: 'https://as.example/oauth/token',
    clientId: 'relay',
    clientSecret: { secret: 'CLIENT_SECRET', secrets },
    subjectToken: (req) => req.headers['x-token'] as string | undefined,
    audience: 'https://backend.example',
    logger: captureLogger(),
    ...extra,
  };
}

function request(token: string | undefined): IncomingMessage {
  const req = new IncomingMessage(new Socket());
  if (token !== undefined) req.headers['x-token'] = token;
  return req;
}

function expectConfigError(extra: Record<string, unknown>, code: HeaderConfigErrorCode, path: string, rule?: RegExp): HeaderConfigError {
  let thrown: unknown;
  try {
    tokenExchange(options(extra));
  } catch (error) {
    thrown = error;
  }
  assert.ok(thrown instanceof HeaderConfigError, `expected a HeaderConfigError, got ${String(thrown)}`);
  assert.equal(thrown.code, code, thrown.message);
  assert.equal(thrown.path, path, thrown.message);
  if (rule) assert.match(thrown.rule, rule);
  for (const text of [thrown.message, inspect(thrown), JSON.stringify(thrown)]) assert.ok(!text.includes(SENTINEL), text);
  return thrown;
}

describe('tokenExchange: options', () => {
  it('valid options build a source described by its endpoint (without the query)', () => {
    const source = tokenExchange(options({ tokenEndpoint: new URL('https://as.example/oauth/token?tenant=x') }));
    assert.equal(source.description, 'token exchange at https://as.example/oauth/token');
  });

  const invalid: [string, Record<string, unknown>, string, RegExp?][] = [
    ['no options object', { tokenEndpoint: undefined }, 'tokenEndpoint'],
    ['a relative endpoint', { tokenEndpoint: '/token' }, 'tokenEndpoint', /absolute http/],
    ['an ftp: endpoint', { tokenEndpoint: 'ftp://as.example/token' }, 'tokenEndpoint', /https:/],
    ['credentials in the endpoint', { tokenEndpoint: `https://relay:${SENTINEL}@as.example/token` }, 'tokenEndpoint', /credentials/],
    ['a #fragment in the endpoint', { tokenEndpoint: 'https://as.example/token#x' }, 'tokenEndpoint', /fragment/],
    ['http: to a remote host', { tokenEndpoint: 'http://as.example/token' }, 'tokenEndpoint', /allowInsecureHttp/],
    ['an empty clientId', { clientId: '' }, 'clientId'],
    ['a clientId with CRLF', { clientId: 'relay\r\nX: 1' }, 'clientId'],
    ['an inline secret string', { clientSecret: SENTINEL }, 'clientSecret', /never inline/],
    ['a clientSecret with the value in it', { clientSecret: { secret: 'CLIENT_SECRET', value: SENTINEL } }, 'clientSecret.value'],
    ['a secret name with a path', { clientSecret: { secret: '../etc/passwd', secrets } }, 'clientSecret.secret'],
    ['a provider without read()', { clientSecret: { secret: 'CLIENT_SECRET', secrets: { description: 'x' } } }, 'clientSecret.secrets'],
    ['an unknown client authentication', { clientAuthentication: 'private_key_jwt' }, 'clientAuthentication'],
    ['subjectToken that is not a function', { subjectToken: 'authorization' }, 'subjectToken'],
    ['a subjectTokenType with a space', { subjectTokenType: 'urn:a b' }, 'subjectTokenType'],
    ['an empty audience', { audience: '' }, 'audience'],
    ['a relative resource', { resource: '/mcp' }, 'resource', /absolute URI/],
    ['a resource with a fragment', { resource: ['https://backend.example/mcp', 'https://b.example/#x'] }, 'resource[1]'],
    ['an empty resource list', { resource: [] }, 'resource'],
    ['a scope with a double space', { scope: 'a  b' }, 'scope'],
    ['format that is not a function', { format: 'Bearer' }, 'format'],
    ['key that is not a function', { key: 'sub' }, 'key'],
    ['allowInsecureHttp that is not a boolean', { allowInsecureHttp: 'yes' }, 'allowInsecureHttp'],
    ['an unknown option', { clientSecrets: {} }, 'clientSecrets', /did you mean "clientSecret"/],
  ];
  for (const [name, extra, path, rule] of invalid) {
    it(`refuses ${name} at ${path}`, () => {
      expectConfigError(extra, 'ERR_INVALID_OPTION', path, rule);
    });
  }

  it('refuses a non-object', () => {
    assert.throws(() => tokenExchange(undefined as unknown as TokenExchangeOptions), HeaderConfigError);
  });

  for (const endpoint of ['http://127.0.0.1:8080/token', 'http://127.1.2.3/token', 'http://localhost/token', 'http://[::1]:9000/token']) {
    it(`accepts http: to the loopback host of ${endpoint}`, () => {
      tokenExchange(options({ tokenEndpoint: endpoint }));
    });
  }

  it('accepts http: to a remote host with allowInsecureHttp, and warns', () => {
    const logger = captureLogger();
    tokenExchange(options({ tokenEndpoint: 'http://as.internal/token', allowInsecureHttp: true, logger }));
    assert.equal(logger.lines.length, 1);
    assert.equal(logger.lines[0]!.level, 'warn');
    assert.match(logger.lines[0]!.message, /in clear/);
  });

  it('a client secret missing at start-up: ERR_SECRET_MISSING naming the option; the log names the secret and its source', () => {
    const logger = captureLogger();
    const error = expectConfigError({ clientSecret: { secret: 'NOT_SET', secrets }, logger }, 'ERR_SECRET_MISSING', 'clientSecret.secret');
    assert.ok(!error.message.includes('NOT_SET'), 'the message names the option, not the secret');
    assert.deepEqual(logger.lines[0]!.fields, { option: 'clientSecret.secret', secret: 'NOT_SET', source: 'environment variable' });
  });

  it('a client secret with CRLF at start-up: ERR_SECRET_INVALID, no value anywhere', () => {
    const logger = captureLogger();
    const bad = envSecrets({ CLIENT_SECRET: `${SENTINEL}\r\nX: 1` });
    expectConfigError({ clientSecret: { secret: 'CLIENT_SECRET', secrets: bad }, logger }, 'ERR_SECRET_INVALID', 'clientSecret.secret');
    assert.ok(!logger.text().includes(SENTINEL));
  });

  it('an inherited Object.prototype.secrets is ignored (no prototype pollution of clientSecret)', () => {
    const proto = Object.prototype as Record<string, unknown>;
    proto.secrets = envSecrets({ CLIENT_SECRET: 'polluted' });
    try {
      expectConfigError({ clientSecret: { secret: 'CLIENT_SECRET' } }, 'ERR_SECRET_MISSING', 'clientSecret.secret');
    } finally {
      delete proto.secrets;
    }
  });
});

describe('tokenExchange: the source', () => {
  it('inspect, JSON.stringify and String show the description only', () => {
    const source = tokenExchange(options());
    for (const text of [inspect(source, { showHidden: true, depth: 10 }), JSON.stringify(source), (source as { toString(): string }).toString()]) {
      assert.equal(text.includes(SENTINEL), false, text);
      assert.match(text, /CredentialSource\(token exchange at https:\/\/as\.example\/oauth\/token\)/);
    }
  });

  it('the default key is an HMAC of the subject token: stable, not the token, different per instance, undefined without a token', () => {
    const a = tokenExchange(options());
    const b = tokenExchange(options());
    const key = a.key(request(SENTINEL));
    assert.equal(typeof key, 'string');
    assert.ok(!key!.includes(SENTINEL));
    assert.equal(a.key(request(SENTINEL)), key);
    assert.notEqual(a.key(request(`${SENTINEL}-other`)), key);
    assert.notEqual(b.key(request(SENTINEL)), key, 'the HMAC key is made per instance');
    assert.equal(a.key(request(undefined)), undefined);
  });

  it('a custom key replaces the default', () => {
    const source = tokenExchange(options({ key: () => 'principal-1' }));
    assert.equal(source.key(request(SENTINEL)), 'principal-1');
  });

  it('subjectToken returning an empty string or a non-string: key() throws a CredentialResolveError', () => {
    for (const token of ['', 42]) {
      const source = tokenExchange(options({ subjectToken: () => token }));
      assert.throws(() => source.key(request(undefined)), { name: 'CredentialResolveError' });
    }
  });

  it('resolve() without a subject token answers undefined without a request', async () => {
    const source = tokenExchange(options());
    assert.equal(await source.resolve('k', request(undefined), new AbortController().signal), undefined);
  });
});

describe('tokenExchange: oauth4webapi is loaded on the first exchange only', () => {
  it('importing the package and calling tokenExchange() do not load it; the first resolve() does', async () => {
    // A resolve hook that refuses oauth4webapi: loading it anywhere before resolve() fails the child.
    const hook = `export async function resolve(specifier, context, next) {
      if (specifier === 'oauth4webapi') throw new Error('oauth4webapi refused by the test hook');
      return next(specifier, context);
    }`;
    const script = `
      import { register } from 'node:module';
      register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}));
      const { tokenExchange, envSecrets } = await import(${JSON.stringify(LIB_INDEX)});
      const source = tokenExchange({
        tokenEndpoint: 'http://127.0.0.1:9/token', clientId: 'relay',
        clientSecret: { secret: 'S', secrets: envSecrets({ S: 'secret' }) },
        subjectToken: () => 'subject',
      });
      let error;
      try { await source.resolve('k', {}, new AbortController().signal); } catch (e) { error = e; }
      console.log(JSON.stringify({ name: error?.name, message: error?.message }));
    `;
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: ROOT,
      timeout: 30_000,
    });
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as { name?: string; message?: string };
    assert.equal(result.name, 'CredentialResolveError', 'the package and tokenExchange() loaded without oauth4webapi; resolve() tried to load it');
    assert.match(result.message ?? '', /oauth4webapi package cannot be loaded/);
  });
});
