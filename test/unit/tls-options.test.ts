/**
 * mcpProxy's `tls` and `agent` options at construction (lib/parse-tls.ts): every rule throws
 * ERR_INVALID_TLS (or ERR_INVALID_OPTION for a wrong type) with the option path, and no error or log
 * line quotes key, certificate or passphrase text. Also the run-time classification of TLS errors.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createSecureContext, rootCertificates } from 'node:tls';
import { after, describe, it } from 'node:test';
import { mcpProxy } from '../../lib/index.js';
import { parseProxyOptions } from '../../lib/parse-options.js';
import { describeTlsFailure } from '../../lib/tls-failure.js';
import { captureLogger } from '../helpers/capture-logger.js';
import { errorViews, expectConfigError } from '../helpers/config-errors.js';
import { SENTINEL as SENTINEL_PREFIX } from '../helpers/sentinel.js';
import { testPki } from '../helpers/test-ca.js';

const HTTPS_TARGET = 'https://127.0.0.1:9/mcp';
const HTTP_TARGET = 'http://127.0.0.1:9/mcp';
const SENTINEL = `${SENTINEL_PREFIX}-tls-5b2e`;
const pki = testPki();
const agents: http.Agent[] = [];
after(() => {
  for (const agent of agents) agent.destroy();
});

const agent = <A extends http.Agent>(a: A): A => {
  agents.push(a);
  return a;
};
const withTls =
  (tls: Record<string, unknown>, target = HTTPS_TARGET) =>
  () =>
    mcpProxy({ target, tls, logger: captureLogger() });

const TRADITIONAL_PASSPHRASE = 'traditional-passphrase-7c2a';
/** The client key again, encrypted the pre-PKCS#8 way: `-----BEGIN EC PRIVATE KEY-----` with `Proc-Type: 4,ENCRYPTED`. */
const traditionalEncryptedKey = execFileSync('openssl', ['pkey', '-traditional', '-aes256', '-passout', `pass:${TRADITIONAL_PASSPHRASE}`], {
  input: pki.client.key,
  encoding: 'utf8',
});
assert.match(traditionalEncryptedKey, /\nProc-Type: 4,ENCRYPTED\n/);

/**
 * A wrong passphrase for `key` that OpenSSL reports with a code other than ERR_OSSL_BAD_DECRYPT. About
 * one in 300 is; the search gives up (failing the test) only after 20 000, which chance alone never reaches.
 */
function passphraseNotReportedAsBadDecrypt(key: string): string {
  for (let i = 0; i < 20_000; i++) {
    const candidate = `${SENTINEL}-${i}`;
    try {
      createSecureContext({ key, passphrase: candidate });
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'ERR_OSSL_BAD_DECRYPT') return candidate;
    }
  }
  assert.fail('every wrong passphrase tried was reported as ERR_OSSL_BAD_DECRYPT');
}

/** The body lines of every PEM the test generated: none may appear in an error or a log line. */
const PEM_LINES = [pki.client.key, pki.encryptedClientKey, traditionalEncryptedKey, pki.server.key, pki.client.cert, pki.ca].flatMap((pem) =>
  pem.split('\n').filter((line) => line.length > 20 && !line.startsWith('-----')),
);
function assertNoKeyMaterial(texts: readonly string[]): void {
  for (const text of texts) {
    for (const line of PEM_LINES) assert.ok(!text.includes(line), `PEM text leaked: ${text.slice(0, 200)}`);
    assert.ok(!text.includes(pki.passphrase), 'the passphrase leaked');
    assert.ok(!text.includes('-----BEGIN'), 'PEM armour leaked');
  }
}

describe('tls: valid configurations', () => {
  it('every tls option together (Buffers, a CA list, an encrypted key) constructs, frozen, with only what was given', () => {
    const config = parseProxyOptions({
      target: HTTPS_TARGET,
      tls: {
        ca: [pki.ca, Buffer.from(pki.otherCa)],
        cert: pki.client.cert,
        key: Buffer.from(pki.encryptedClientKey),
        passphrase: pki.passphrase,
        servername: 'mcp.internal.test',
      },
      logger: captureLogger(),
    });
    assert.ok(config.tls);
    assert.ok(Object.isFrozen(config.tls));
    assert.deepEqual(Object.keys(config.tls).sort(), ['ca', 'cert', 'key', 'passphrase', 'rejectUnauthorized', 'servername']);
    assert.equal(config.tls.rejectUnauthorized, true);
  });

  it('tls with servername only carries no undefined option (an undefined rejectUnauthorized would switch verification off)', () => {
    const config = parseProxyOptions({ target: HTTPS_TARGET, tls: { servername: 'mcp.internal.test' }, logger: captureLogger() });
    assert.deepEqual({ ...config.tls }, { rejectUnauthorized: true, servername: 'mcp.internal.test' });
  });

  it('a combined certificate-and-key file is accepted as both tls.cert and tls.key', () => {
    const combined = pki.client.cert + pki.client.key;
    assert.doesNotThrow(withTls({ cert: combined, key: combined }));
  });

  it('a trailing-dot, mixed-case servername is a DNS name', () => {
    assert.doesNotThrow(withTls({ servername: 'MCP.Internal.Test.' }));
  });

  it('deep-frozen tls options are read, not changed', () => {
    const tls = Object.freeze({ ca: Object.freeze([pki.ca]), servername: 'mcp.internal.test' });
    assert.doesNotThrow(() => mcpProxy({ target: HTTPS_TARGET, tls, logger: captureLogger() }));
    assert.deepEqual(tls, { ca: [pki.ca], servername: 'mcp.internal.test' });
  });

  it("tls.ca with Node's whole built-in list plus the private CA", () => {
    assert.doesNotThrow(withTls({ ca: [...rootCertificates, pki.ca] }));
  });

  it('no tls and no agent: nothing resolved (the route builds its own pool)', () => {
    const config = parseProxyOptions({ target: HTTPS_TARGET, logger: captureLogger() });
    assert.equal(config.tls, undefined);
    assert.equal(config.agent, undefined);
  });

  it('an https.Agent for an https: target is kept as given', () => {
    const own = agent(new https.Agent({ ca: pki.ca }));
    assert.equal(parseProxyOptions({ target: HTTPS_TARGET, agent: own, logger: captureLogger() }).agent, own);
  });

  it('an http.Agent for an http: target is accepted', () => {
    assert.doesNotThrow(() => mcpProxy({ target: HTTP_TARGET, agent: agent(new http.Agent()), logger: captureLogger() }));
  });

  it('an agent that picks its protocol per request (agent-base, proxy agents) is accepted for an https: target', () => {
    // agent-base's shape: `protocol` an accessor on the prototype, so Node's constructor sets no own property.
    class DualAgent extends http.Agent {
      get protocol(): string {
        return 'https:';
      }
      set protocol(fixed: string) {
        assert.equal(typeof fixed, 'string');
      }
    }
    assert.doesNotThrow(() => mcpProxy({ target: HTTPS_TARGET, agent: agent(new DualAgent()), logger: captureLogger() }));
  });
});

describe('tls: what the options become', () => {
  const resolved = (tls: Record<string, unknown>) => ({ ...parseProxyOptions({ target: HTTPS_TARGET, tls, logger: captureLogger() }).tls });

  it('a client certificate without a passphrase: cert and key, and no passphrase key at all', () => {
    assert.deepEqual(resolved({ cert: pki.client.cert, key: pki.client.key }), { rejectUnauthorized: true, cert: pki.client.cert, key: pki.client.key });
  });

  it('a CA list is kept as given (a copy), a single CA as it is', () => {
    const list = [pki.ca, pki.otherCa];
    const ca = resolved({ ca: list }).ca;
    assert.deepEqual(ca, list);
    assert.notEqual(ca, list);
    assert.equal(resolved({ ca: pki.ca }).ca, pki.ca);
  });

  it('an encrypted key in a combined file (ENCRYPTED PRIVATE KEY beside the certificate) is accepted', () => {
    const combined = pki.client.cert + pki.encryptedClientKey;
    assert.doesNotThrow(withTls({ cert: combined, key: pki.encryptedClientKey, passphrase: pki.passphrase }));
  });

  it('servername: one-character labels are DNS labels; 253 characters are the most', () => {
    const label = 'a'.repeat(63);
    const longest = [label, label, label, 'a'.repeat(61)].join('.');
    assert.equal(longest.length, 253);
    assert.equal(resolved({ servername: 'a.b.example' }).servername, 'a.b.example');
    assert.equal(resolved({ servername: longest }).servername, longest);
    expectConfigError(withTls({ servername: `${longest}a` }), 'ERR_INVALID_TLS', 'tls.servername');
  });

  it('an agent with verification on, or with no options of its own, gets no warning', () => {
    const bare = agent(new https.Agent());
    delete (bare as { options?: unknown }).options;
    for (const given of [agent(new https.Agent()), bare]) {
      const logger = captureLogger();
      parseProxyOptions({ target: HTTPS_TARGET, agent: given, logger });
      assert.deepEqual(
        logger.lines.filter((l) => l.level === 'warn'),
        [],
      );
    }
  });
});

describe('tls: what each refusal says', () => {
  const rule = (build: () => unknown, path: string): string => expectConfigError(build, 'ERR_INVALID_TLS', path).rule;

  it('an agent for the other scheme names the agent to use', () => {
    assert.equal(
      rule(() => mcpProxy({ target: HTTPS_TARGET, agent: agent(new http.Agent()), logger: captureLogger() }), 'agent'),
      'is an agent for http: URLs but the target is https:; use an https.Agent',
    );
    assert.equal(
      rule(() => mcpProxy({ target: HTTP_TARGET, agent: agent(new https.Agent()), logger: captureLogger() }), 'agent'),
      'is an agent for https: URLs but the target is http:; use an http.Agent',
    );
  });

  it('tls.ca given once, not as a list, is named tls.ca', () => {
    assert.match(rule(withTls({ ca: 'not a certificate' }), 'tls.ca'), /^is not PEM: expected one or more CA certificates/);
  });

  it('only a private key earns the hint that it never belongs in tls.ca', () => {
    const publicKey = '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n';
    assert.equal(rule(withTls({ ca: publicKey }), 'tls.ca'), 'holds a PEM block that is not a certificate (PUBLIC KEY)');
    assert.equal(
      rule(withTls({ ca: pki.client.key }), 'tls.ca'),
      'holds a PEM block that is not a certificate (PRIVATE KEY); a private key never belongs here',
    );
  });

  it('tls.cert holding a key only: no client certificate in it', () => {
    assert.match(rule(withTls({ cert: pki.client.key, key: pki.client.key }), 'tls.cert'), /^is not PEM: expected one or more client certificates/);
  });

  it('an encrypted key: without a passphrase it is required, with a wrong one it does not decrypt', () => {
    assert.equal(rule(withTls({ cert: pki.client.cert, key: pki.encryptedClientKey }), 'tls.passphrase'), 'is required: tls.key is encrypted');
    assert.equal(
      rule(withTls({ cert: pki.client.cert, key: pki.encryptedClientKey, passphrase: 'wrong' }), 'tls.passphrase'),
      'does not decrypt tls.key (wrong passphrase, or the key is damaged)',
    );
  });

  it('an IP address as servername, in brackets too, is refused as an IP address', () => {
    for (const servername of ['127.0.0.1', '[::1]']) {
      assert.match(rule(withTls({ servername }), 'tls.servername'), /^must be a DNS name, not an IP address/);
    }
  });
});

describe('tls: combination rules (ERR_INVALID_TLS)', () => {
  it('tls with an http: target', () => {
    expectConfigError(withTls({ ca: pki.ca }, HTTP_TARGET), 'ERR_INVALID_TLS', 'tls');
  });

  it('tls together with agent', () => {
    expectConfigError(
      () => mcpProxy({ target: HTTPS_TARGET, tls: { ca: pki.ca }, agent: agent(new https.Agent()), logger: captureLogger() }),
      'ERR_INVALID_TLS',
      'agent',
    );
  });

  it('tls.cert without tls.key', () => {
    expectConfigError(withTls({ cert: pki.client.cert }), 'ERR_INVALID_TLS', 'tls.cert');
  });

  it('tls.key without tls.cert', () => {
    const error = expectConfigError(withTls({ key: pki.client.key }), 'ERR_INVALID_TLS', 'tls.key');
    assertNoKeyMaterial(errorViews(error));
  });

  it('tls.passphrase without tls.key', () => {
    const error = expectConfigError(withTls({ passphrase: pki.passphrase }), 'ERR_INVALID_TLS', 'tls.passphrase');
    assertNoKeyMaterial(errorViews(error));
  });

  it('an http.Agent for an https: target', () => {
    expectConfigError(() => mcpProxy({ target: HTTPS_TARGET, agent: agent(new http.Agent()), logger: captureLogger() }), 'ERR_INVALID_TLS', 'agent');
  });

  it('an https.Agent for an http: target', () => {
    expectConfigError(() => mcpProxy({ target: HTTP_TARGET, agent: agent(new https.Agent()), logger: captureLogger() }), 'ERR_INVALID_TLS', 'agent');
  });
});

describe('tls: PEM contents (ERR_INVALID_TLS), never quoted', () => {
  it('tls.ca that is not PEM', () => {
    expectConfigError(withTls({ ca: `${SENTINEL} not a certificate` }), 'ERR_INVALID_TLS', 'tls.ca');
  });

  it('tls.ca as an empty list', () => {
    expectConfigError(withTls({ ca: [] }), 'ERR_INVALID_TLS', 'tls.ca');
  });

  it('tls.ca list with one bad entry names that entry', () => {
    expectConfigError(withTls({ ca: [pki.ca, Buffer.from(SENTINEL)] }), 'ERR_INVALID_TLS', 'tls.ca[1]');
  });

  it('tls.ca with a damaged certificate block', () => {
    const damaged = pki.ca.replace(/\n[A-Za-z0-9+/]{8}/, `\n${'A'.repeat(8)}`).replace(/\n([A-Za-z0-9+/])/, '\n!');
    const error = expectConfigError(withTls({ ca: damaged }), 'ERR_INVALID_TLS', 'tls.ca');
    assertNoKeyMaterial(errorViews(error));
  });

  it('tls.ca holding a private key says so, without quoting it', () => {
    const error = expectConfigError(withTls({ ca: pki.ca + pki.client.key }), 'ERR_INVALID_TLS', 'tls.ca');
    assert.match(error.rule, /private key/);
    assertNoKeyMaterial(errorViews(error));
  });

  it('tls.cert that is not a certificate', () => {
    expectConfigError(withTls({ cert: `${SENTINEL} cert`, key: pki.client.key }), 'ERR_INVALID_TLS', 'tls.cert');
  });

  it('tls.key that is not a key', () => {
    expectConfigError(withTls({ cert: pki.client.cert, key: `${SENTINEL} key` }), 'ERR_INVALID_TLS', 'tls.key');
  });

  it('tls.key that belongs to another certificate', () => {
    const error = expectConfigError(withTls({ cert: pki.client.cert, key: pki.server.key }), 'ERR_INVALID_TLS', 'tls.key');
    assertNoKeyMaterial(errorViews(error));
  });

  it('a client certificate OpenSSL refuses for another reason (an RSA 768 key): tls.cert, naming only the code', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'relay-weak-'));
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:768', '-nodes', '-keyout', 'k.pem', '-out', 'c.pem', '-subj', '/CN=weak', '-days', '2'], {
        cwd: dir,
        stdio: 'ignore',
      });
      const weak = { cert: readFileSync(path.join(dir, 'c.pem'), 'utf8'), key: readFileSync(path.join(dir, 'k.pem'), 'utf8') };
      const error = expectConfigError(withTls(weak), 'ERR_INVALID_TLS', 'tls.cert');
      assert.match(error.message, /is not a usable client certificate chain \(OpenSSL: ERR_SSL_EE_KEY_TOO_SMALL\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an encrypted tls.key without tls.passphrase', () => {
    const error = expectConfigError(withTls({ cert: pki.client.cert, key: pki.encryptedClientKey }), 'ERR_INVALID_TLS', 'tls.passphrase');
    assertNoKeyMaterial(errorViews(error));
  });

  it('a wrong tls.passphrase', () => {
    const error = expectConfigError(withTls({ cert: pki.client.cert, key: pki.encryptedClientKey, passphrase: SENTINEL }), 'ERR_INVALID_TLS', 'tls.passphrase');
    assertNoKeyMaterial(errorViews(error));
  });

  // A wrong passphrase decrypts to garbage that now and then passes the padding check, so OpenSSL
  // reports ERR_OSSL_UNSUPPORTED or an ASN.1 error, not BAD_DECRYPT: those are still tls.passphrase.
  for (const [format, key, right] of [
    ['PKCS#8', pki.encryptedClientKey, pki.passphrase],
    ['traditional (Proc-Type: 4,ENCRYPTED)', traditionalEncryptedKey, TRADITIONAL_PASSPHRASE],
  ] as const) {
    it(`a ${format} key: wrong passphrases OpenSSL reports as other than BAD_DECRYPT, and a missing one, are tls.passphrase`, () => {
      const lucky = passphraseNotReportedAsBadDecrypt(key);
      assert.notEqual(lucky, right);
      const error = expectConfigError(withTls({ cert: pki.client.cert, key, passphrase: lucky }), 'ERR_INVALID_TLS', 'tls.passphrase');
      assert.match(error.message, /does not decrypt tls\.key/);
      assertNoKeyMaterial(errorViews(error));
      for (const text of errorViews(error)) assert.ok(!text.includes(lucky), 'the passphrase tried leaked');
      const missing = expectConfigError(withTls({ cert: pki.client.cert, key }), 'ERR_INVALID_TLS', 'tls.passphrase');
      assert.match(missing.message, /is required: tls\.key is encrypted/);
      assert.doesNotThrow(withTls({ cert: pki.client.cert, key, passphrase: right }));
    });
  }
});

describe('tls.servername must be a DNS name (ERR_INVALID_TLS)', () => {
  for (const name of ['127.0.0.1', '::1', '[::1]', 'bad_name.example', 'a..b', '-x.example', 'x-.example', '', 'a b', `${'a'.repeat(64)}.example`]) {
    it(`refuses ${JSON.stringify(name)}`, () => {
      expectConfigError(withTls({ servername: name }), 'ERR_INVALID_TLS', 'tls.servername');
    });
  }
});

describe('tls: option shapes (ERR_INVALID_OPTION)', () => {
  it('tls.ca of the wrong type', () => {
    expectConfigError(withTls({ ca: 42 }), 'ERR_INVALID_OPTION', 'tls.ca');
  });

  it('a misspelt tls option suggests the right one', () => {
    const error = expectConfigError(withTls({ rejectUnauthorised: false }), 'ERR_INVALID_OPTION', 'tls.rejectUnauthorised');
    assert.match(error.message, /did you mean "rejectUnauthorized"/);
  });

  it('an agent that is not a Node agent', () => {
    expectConfigError(() => mcpProxy({ target: HTTPS_TARGET, agent: {} as http.Agent, logger: captureLogger() }), 'ERR_INVALID_OPTION', 'agent');
  });
});

describe('tls: the rejectUnauthorized warning', () => {
  it('rejectUnauthorized: false logs one warning naming the route and what is disabled', () => {
    const logger = captureLogger();
    mcpProxy({ target: HTTPS_TARGET, name: 'insecure-route', tls: { rejectUnauthorized: false }, logger });
    const warnings = logger.lines.filter((l) => l.level === 'warn');
    assert.equal(warnings.length, 1);
    assert.deepEqual(warnings[0]!.fields, { route: 'insecure-route', option: 'tls.rejectUnauthorized' });
    assert.match(warnings[0]!.message, /verification is off/);
    assert.match(warnings[0]!.message, /secrets included/);
  });

  it('a user agent with rejectUnauthorized: false gets the same warning', () => {
    const logger = captureLogger();
    mcpProxy({ target: HTTPS_TARGET, name: 'agent-route', agent: agent(new https.Agent({ rejectUnauthorized: false })), logger });
    assert.ok(logger.lines.some((l) => l.level === 'warn' && (l.fields as { option?: string }).option === 'agent'));
  });

  it('verification on (the default, or true): no warning', () => {
    for (const tls of [{ ca: pki.ca }, { rejectUnauthorized: true }]) {
      const logger = captureLogger();
      mcpProxy({ target: HTTPS_TARGET, tls, logger });
      assert.deepEqual(
        logger.lines.filter((l) => l.level === 'warn'),
        [],
      );
    }
  });

  it('an inherited (prototype-polluted) rejectUnauthorized: false is ignored', () => {
    const proto = Object.prototype as unknown as Record<string, unknown>;
    proto.rejectUnauthorized = false;
    try {
      const logger = captureLogger();
      const config = parseProxyOptions({ target: HTTPS_TARGET, tls: { ca: pki.ca }, logger });
      assert.equal(config.tls?.rejectUnauthorized, true);
      assert.ok(Object.hasOwn(config.tls, 'rejectUnauthorized'));
      assert.deepEqual(
        logger.lines.filter((l) => l.level === 'warn'),
        [],
      );
    } finally {
      delete proto.rejectUnauthorized;
    }
  });

  it('construction logs hold no key, certificate or passphrase text', () => {
    const logger = captureLogger();
    mcpProxy({
      target: HTTPS_TARGET,
      tls: { ca: pki.ca, cert: pki.client.cert, key: pki.encryptedClientKey, passphrase: pki.passphrase, rejectUnauthorized: false },
      logger,
    });
    assertNoKeyMaterial([logger.text()]);
  });
});

describe('describeTlsFailure: which upstream errors are TLS failures', () => {
  const error = (code: string, message = 'x') => Object.assign(new Error(message), { code });
  for (const code of [
    'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    'SELF_SIGNED_CERT_IN_CHAIN',
    'DEPTH_ZERO_SELF_SIGNED_CERT',
    'CERT_HAS_EXPIRED',
    'ERR_TLS_CERT_ALTNAME_INVALID',
    'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
    'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE',
    'ERR_SSL_WRONG_VERSION_NUMBER',
    'EPROTO',
  ]) {
    it(`${code} is a TLS failure`, () => {
      assert.ok(describeTlsFailure(error(code)));
    });
  }

  it('ECONNRESET during the handshake is a TLS failure', () => {
    assert.ok(describeTlsFailure(error('ECONNRESET', 'Client network socket disconnected before secure TLS connection was established')));
  });

  for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'ETIMEDOUT', 'HPE_INVALID_CONSTANT']) {
    it(`${code} (with another message) is not`, () => {
      assert.equal(describeTlsFailure(error(code, 'socket hang up')), undefined);
    });
  }

  it('an error without a code is not', () => {
    assert.equal(describeTlsFailure(new Error('x')), undefined);
    assert.equal(describeTlsFailure(null), undefined);
  });
});
