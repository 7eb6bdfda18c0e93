/**
 * The DNS-rebinding guard and the era rule as pure functions, case by case; test/e2e/rebinding.test.ts
 * and test/e2e/era-sessions.test.ts check them end to end.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import { HeaderConfigError } from '../../lib/index.js';
import { isStatelessEra } from '../../lib/protocol-era.js';
import { checkRebinding, isLoopbackAddress, parseRebindingGuard } from '../../lib/rebinding-guard.js';

/** The parts of a request the guard and the era rule read. */
function request(headers: Record<string, string>, localAddress = '127.0.0.1'): IncomingMessage {
  return { headers, socket: { localAddress } } as unknown as IncomingMessage;
}

const verdict = (req: IncomingMessage, hosts?: string[], origins?: string[]): string =>
  checkRebinding(req, parseRebindingGuard(hosts, origins))?.reason ?? 'ok';

describe('DNS-rebinding guard: the default on a loopback listener', () => {
  const cases: [Record<string, string>, string][] = [
    [{ host: 'localhost:8080' }, 'ok'],
    [{ host: '127.0.0.1' }, 'ok'],
    [{ host: '[::1]:9' }, 'ok'],
    [{ host: 'LocalHost' }, 'ok'],
    [{ host: 'evil.example' }, 'host_not_allowed'],
    [{ host: 'localhost.evil.example' }, 'host_not_allowed'],
    [{ host: '127.0.0.2' }, 'host_not_allowed'],
    [{ host: 'localhost:' }, 'host_not_allowed'],
    [{ host: '' }, 'host_not_allowed'],
    [{}, 'host_not_allowed'],
    [{ ':authority': 'localhost:1' }, 'ok'],
    [{ host: 'localhost', origin: 'http://localhost:5173' }, 'ok'],
    [{ host: 'localhost', origin: 'https://[::1]' }, 'ok'],
    [{ host: 'localhost', origin: 'http://evil.example' }, 'origin_not_allowed'],
    [{ host: 'localhost', origin: 'null' }, 'origin_not_allowed'],
    [{ host: 'localhost', origin: 'file://' }, 'origin_not_allowed'],
    [{ host: 'localhost', origin: 'chrome-extension://localhost' }, 'origin_not_allowed'],
    [{ host: 'localhost', origin: 'http://localhost, http://evil.example' }, 'origin_not_allowed'],
    [{ host: 'localhost', origin: '' }, 'origin_not_allowed'],
  ];
  for (const [headers, expected] of cases) {
    it(`${JSON.stringify(headers)} → ${expected}`, () => assert.equal(verdict(request(headers)), expected));
  }

  it('a listener on any other address checks nothing by default', () => {
    assert.equal(verdict(request({ host: 'evil.example', origin: 'http://evil.example' }, '192.0.2.2')), 'ok');
    assert.equal(verdict(request({}, '::ffff:10.0.0.1')), 'ok');
  });

  // Loopback addresses: 127.0.0.0/8, ::1 and IPv4-mapped 127.x; nothing else.
  for (const address of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) {
    it(`${address} is a loopback address`, () => assert.equal(isLoopbackAddress(address), true));
  }
  for (const address of ['192.0.2.2', '::', '0.0.0.0', '::ffff:10.0.0.1', 'fe80::1', undefined]) {
    it(`${String(address)} is not a loopback address`, () => assert.equal(isLoopbackAddress(address), false));
  }
});

describe('DNS-rebinding guard: allowedHosts and allowedOrigins', () => {
  // A name without a port matches any port; a name with a port only that port; case does not matter.
  const hosts = ['Gateway.Example', 'internal:8443', '[fd00::2]'];
  const hostCases: [string, string][] = [
    ['gateway.example', 'ok'],
    ['GATEWAY.EXAMPLE:443', 'ok'],
    ['internal:8443', 'ok'],
    ['[fd00::2]:80', 'ok'],
    ['internal', 'host_not_allowed'],
    ['internal:8444', 'host_not_allowed'],
    ['localhost', 'host_not_allowed'],
    ['gateway.example.evil', 'host_not_allowed'],
    ['[fd00::3]', 'host_not_allowed'],
  ];
  for (const [host, expected] of hostCases) {
    it(`allowedHosts ${JSON.stringify(hosts)}: Host ${host} → ${expected}`, () => assert.equal(verdict(request({ host }), hosts), expected));
  }

  it('listed names apply on every listener, and replace the loopback default', () => {
    assert.equal(verdict(request({ host: 'localhost' }), ['gateway.example']), 'host_not_allowed');
    assert.equal(verdict(request({ host: 'evil.example' }, '192.0.2.2'), ['gateway.example']), 'host_not_allowed');
  });

  // Origins match whole (scheme, host, port), default ports and a trailing slash aside.
  const origins = ['https://app.example', 'HTTP://Local.Example:8080/', 'vscode-webview://abc'];
  const originCases: [string, string][] = [
    ['https://app.example', 'ok'],
    ['https://app.example:443', 'ok'],
    ['http://local.example:8080', 'ok'],
    ['vscode-webview://abc', 'ok'],
    ['http://app.example', 'origin_not_allowed'],
    ['https://app.example:8443', 'origin_not_allowed'],
    ['https://sub.app.example', 'origin_not_allowed'],
    ['null', 'origin_not_allowed'],
    ['vscode-webview://abd', 'origin_not_allowed'],
  ];
  for (const [origin, expected] of originCases) {
    it(`allowedOrigins ${JSON.stringify(origins)}: Origin ${origin} → ${expected}`, () => {
      assert.equal(verdict(request({ host: 'localhost', origin }), undefined, origins), expected);
    });
  }

  it('allowedOrigins []: no Origin passes (not a browser), every Origin is refused', () => {
    assert.equal(verdict(request({ host: 'localhost' }), undefined, []), 'ok', 'no Origin: not a browser');
    assert.equal(verdict(request({ host: 'localhost', origin: 'http://localhost' }), undefined, []), 'origin_not_allowed', '[] refuses every Origin');
  });

  it("['*'] switches a check off, on a loopback listener too", () => {
    assert.equal(verdict(request({ host: 'evil.example', origin: 'http://evil.example' }), ['*'], ['*']), 'ok');
    assert.equal(verdict(request({ host: 'evil.example', origin: 'http://localhost' }), ['*']), 'ok', 'Origin keeps its own default');
  });

  const invalid: [string[] | undefined, string[] | undefined, string][] = [
    [[], undefined, 'allowedHosts'],
    [['http://gateway.example'], undefined, 'allowedHosts[0]'],
    [['ok.example', 'a b'], undefined, 'allowedHosts[1]'],
    [['x:0'], undefined, 'allowedHosts[0]'],
    [['x:65536'], undefined, 'allowedHosts[0]'],
    [['*.example.com'], undefined, 'allowedHosts[0]'],
    [['-x.example'], undefined, 'allowedHosts[0]'],
    [['x.example', '*'], undefined, 'allowedHosts[1]'],
    [undefined, ['app.example'], 'allowedOrigins[0]'],
    [undefined, ['https://app.example/path'], 'allowedOrigins[0]'],
    [undefined, ['https://user@app.example'], 'allowedOrigins[0]'],
    [undefined, ['https://app.example?x=1'], 'allowedOrigins[0]'],
    [undefined, ['http://x:99999'], 'allowedOrigins[0]'],
    [undefined, ['*', 'https://a.example'], 'allowedOrigins[0]'],
  ];
  for (const [hosts, origins, path] of invalid) {
    it(`${JSON.stringify(hosts ?? origins)} throws ERR_INVALID_OPTION at ${path}`, () => {
      assert.throws(
        () => parseRebindingGuard(hosts, origins),
        (err: unknown) => err instanceof HeaderConfigError && err.code === 'ERR_INVALID_OPTION' && err.path === path,
      );
    });
  }
});

describe('protocol era of a request', () => {
  const cases: [Record<string, string>, boolean][] = [
    [{}, false],
    [{ 'mcp-protocol-version': '2025-11-25' }, false],
    [{ 'mcp-protocol-version': '2025-11-25', 'mcp-session-id': 's' }, false],
    [{ 'mcp-protocol-version': '2026-07-28' }, true],
    [{ 'mcp-protocol-version': '2026-07-28', 'mcp-session-id': 's' }, true],
    [{ 'mcp-protocol-version': '2027-01-01' }, true],
    [{ 'mcp-protocol-version': '2026-7-28' }, false],
    [{ 'mcp-protocol-version': '9999' }, false],
    [{ 'mcp-method': 'tools/call' }, true],
    [{ 'mcp-method': '' }, true],
    [{ 'mcp-method': 'tools/call', 'mcp-session-id': 's' }, false],
    [{ 'mcp-method': 'tools/call', 'mcp-session-id': 's', 'mcp-protocol-version': '2026-07-28' }, true],
  ];
  for (const [headers, stateless] of cases) {
    it(`${JSON.stringify(headers)} → ${stateless ? '2026-07-28 (per request)' : '2025 (sessions)'}`, () => {
      assert.equal(isStatelessEra(request(headers)), stateless);
    });
  }
});
