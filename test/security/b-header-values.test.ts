/**
 * Catalogue group B (security.md §5), run-time cases B1–B13: header-value attacks. B14–B19 are
 * configuration-time and live with the configuration suite.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  SENTINEL,
  SENTINEL_CLIENT_AUTH,
  SENTINEL_KEY,
  SENTINEL_SECRET,
  SENTINEL_TENANT,
  STATIC_VALUE,
  assertAlive,
  assertParserRejected,
  assertRefusal,
  assertRejected,
  assertRejectedSince,
  sharedRelay,
  wireNames,
  wireText,
  wireValues,
  withRelay,
} from '../helpers/sec-relay.js';

/** A request whose header block is given as bytes (for latin1 / UTF-8 / control bytes). */
function requestBytes(...lines: (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from('GET /b HTTP/1.1\r\nHost: gw.test\r\n')];
  for (const line of lines) parts.push(typeof line === 'string' ? Buffer.from(line, 'latin1') : line, Buffer.from('\r\n'));
  parts.push(Buffer.from('\r\n'));
  return Buffer.concat(parts);
}

describe('B: header-value attacks (run time)', () => {
  const wireInjections: [string, string][] = [
    ['a bare CR splitting the value', `X-Mcp-Api-Key: ${SENTINEL_KEY}\rX-Injected: evil`],
    ['a bare LF splitting the value', `X-Mcp-Api-Key: ${SENTINEL_KEY}\nX-Injected: evil`],
    ['a CRLF followed by a line that is not a header', `X-Mcp-Api-Key: ${SENTINEL_KEY}\r\ninjected line without colon`],
  ];
  for (const [label, line] of wireInjections) {
    it(`B1 (layer P): ${label} in an allowlisted value gets Node's 400 and never reaches the relay`, async () => {
      await withRelay({}, async (r) => {
        await assertParserRejected(r, await r.raw(requestBytes(line)), 400);
      });
    });
  }

  it('B1: a CRLF that forms a well-formed second line only creates an unlisted header, which is dropped', async () => {
    await withRelay({}, async (r) => {
      const res = await r.raw(requestBytes(`X-Mcp-Api-Key: ${SENTINEL_KEY}\r\nX-Injected: evil\r\nHost: evil.example`));
      // The injected Host makes a duplicate Host: refused before anything is forwarded.
      assertRejected(r, res, 400, 'duplicate_host', 'host');
      const ok = await r.raw(requestBytes(`X-Mcp-Api-Key: ${SENTINEL_KEY}\r\nX-Injected: evil`));
      assert.equal(ok.status, 200);
      const got = r.backend.last();
      assert.ok(!wireNames(got).includes('x-injected'), `injected line forwarded: ${wireText(got)}`);
      assert.deepEqual(wireValues(got, 'x-mcp-api-key'), [SENTINEL_KEY]);
    });
  });

  const insecureBytes: [string, string][] = [
    ['NUL', '\x00'],
    ['0x01', '\x01'],
    ['0x1F', '\x1f'],
    ['DEL', '\x7f'],
  ];
  describe('B2: control bytes in allowlisted values, on one gateway with insecureHTTPParser', () => {
    const relay = sharedRelay({ serverOptions: { insecureHTTPParser: true } });
    for (const [label, ch] of insecureBytes) {
      for (const [name, value] of [
        ['x-mcp-api-key', `${SENTINEL_KEY}${ch}tail`],
        ['x-tenant', `${SENTINEL_TENANT}${ch}`],
      ] as const) {
        it(`B2: with insecureHTTPParser, ${label} in ${name} (accepted by Node) → 400 JSON invalid_header_value, not forwarded`, async () => {
          const r = relay();
          const forwarded = r.backend.requests.length;
          const res = await r.raw(requestBytes(`${name}: ${value}`));
          assertRejectedSince(forwarded, r, res, 400, 'invalid_header_value', name);
          await assertAlive(r);
        });
      }
    }
  });

  it('B2: with insecureHTTPParser, a control byte in a protocol header (Mcp-Session-Id) → 400 JSON, and in an unlisted header → dropped', async () => {
    await withRelay({ serverOptions: { insecureHTTPParser: true } }, async (r) => {
      const res = await r.raw(requestBytes(`Mcp-Session-Id: ${SENTINEL}-session\x01x`));
      assertRejected(r, res, 400, 'invalid_header_value', 'mcp-session-id');
      const ok = await r.raw(requestBytes('X-Other: a\x00b', `X-Mcp-Api-Key: ${SENTINEL_KEY}`));
      assert.equal(ok.status, 200);
      const got = r.backend.last();
      assert.ok(!wireNames(got).includes('x-other'));
      assert.ok(!got.wire.head.includes(0), 'a NUL byte went over the wire');
    });
  });

  it('B3 (layer P): an obs-fold continuation ("k1\\r\\n  continued") gets Node\'s 400 and never reaches the relay', async () => {
    await withRelay({}, async (r) => {
      await assertParserRejected(r, await r.raw(requestBytes(`X-Mcp-Api-Key: ${SENTINEL_KEY}`, '  continued')), 400);
    });
  });

  it('B3: with insecureHTTPParser Node folds obs-fold into "k1  continued", which is valid characters, so it is forwarded as one line (documented)', async () => {
    await withRelay({ serverOptions: { insecureHTTPParser: true } }, async (r) => {
      const res = await r.raw(requestBytes(`X-Mcp-Api-Key: ${SENTINEL_KEY}`, '  continued'));
      assert.equal(res.status, 200);
      const got = r.backend.last();
      assert.deepEqual(wireValues(got, 'x-mcp-api-key'), [`${SENTINEL_KEY}  continued`]);
      assert.ok(!wireNames(got).includes('continued'));
    });
  });

  const parserControls: [string, string][] = [
    ['bare CR', '\r'],
    ['bare LF', '\n'],
    ['NUL', '\x00'],
    ['DEL', '\x7f'],
    ['C0 0x01', '\x01'],
    ['C0 0x0B', '\x0b'],
    ['C0 0x1F', '\x1f'],
  ];
  for (const [label, ch] of parserControls) {
    it(`B4 (layer P): ${label} inside an allowlisted value gets Node's 400 and never reaches the relay`, async () => {
      await withRelay({}, async (r) => {
        await assertParserRejected(r, await r.raw(requestBytes(`X-Mcp-Api-Key: ${SENTINEL_KEY}${ch}1`)), 400);
      });
    });
  }

  it('B5: a latin-1 byte 0xE9 in the API key (Node presents "café") → 400 JSON invalid_header_value, not forwarded', async () => {
    await withRelay({}, async (r) => {
      const res = await r.raw(requestBytes(Buffer.from(`X-Mcp-Api-Key: ${SENTINEL_KEY}-caf\xe9`, 'latin1')));
      assertRejected(r, res, 400, 'invalid_header_value', 'x-mcp-api-key');
    });
  });

  describe('B6: UTF-8 bytes in captured values, on one gateway', () => {
    const relay = sharedRelay();
    for (const name of ['X-Mcp-Api-Key', 'X-Tenant']) {
      it(`B6: UTF-8 bytes ("ключ😀") in ${name} (Node presents latin-1 mojibake) → 400 JSON invalid_header_value, not forwarded`, async () => {
        const r = relay();
        const forwarded = r.backend.requests.length;
        const line = Buffer.concat([Buffer.from(`${name}: ${SENTINEL_KEY}-`), Buffer.from('ключ😀', 'utf8')]);
        const res = await r.raw(requestBytes(line));
        assertRejectedSince(forwarded, r, res, 400, 'invalid_header_value', name.toLowerCase());
      });
    }
  });

  describe('B7: repeated header lines, on one gateway', () => {
    const relay = sharedRelay();
    const repeats: [string, string[], string][] = [
      ['two X-Mcp-Api-Key lines', [`X-Mcp-Api-Key: ${SENTINEL_KEY}`, `X-Mcp-Api-Key: ${SENTINEL}-second`], 'x-mcp-api-key'],
      ['two X-Mcp-Api-Key lines with the same value, in two casings', [`X-Mcp-Api-Key: ${SENTINEL_KEY}`, `x-mcp-api-key: ${SENTINEL_KEY}`], 'x-mcp-api-key'],
      [
        'two X-Mcp-Api-Key lines after an X-Tenant line',
        [`X-Tenant: ${SENTINEL_TENANT}`, `X-MCP-API-KEY: ${SENTINEL_KEY}`, `x-mcp-api-key: ${SENTINEL}-second`],
        'x-mcp-api-key',
      ],
      ['two X-Tenant lines', [`X-Tenant: ${SENTINEL_TENANT}`, `X-Tenant: ${SENTINEL}-t2`], 'x-tenant'],
    ];
    for (const [what, lines, header] of repeats) {
      it(`B7: ${what} (Node would join them as "k1, k2") → 400 JSON duplicate_header, not forwarded`, async () => {
        const r = relay();
        const forwarded = r.backend.requests.length;
        assertRejectedSince(forwarded, r, await r.send(lines), 400, 'duplicate_header', header);
        await assertAlive(r);
      });
    }

    // Found by the request fuzz property (test/fuzz): the empty first line used to hide the second.
    for (const second of ['text/evil', `${SENTINEL}-\u00c2\u00a0`]) {
      it(`B7: an empty Content-Type line followed by "Content-Type: ${second.replace(SENTINEL, '<sentinel>')}" (Node keeps only the empty first one) → 400 JSON duplicate_header, not forwarded`, async () => {
        const r = relay();
        const forwarded = r.backend.requests.length;
        const res = await r.send(['Content-Type:', `Content-Type: ${second}`], { method: 'POST', body: '{}' });
        assertRejectedSince(forwarded, r, res, 400, 'duplicate_header', 'content-type');
        await assertAlive(r);
      });
    }
  });

  it('B8: with allowCredentials on both middlewares, two Authorization lines (Node keeps only the first) → 400 JSON duplicate_header', async () => {
    await withRelay({ allow: ['x-mcp-api-key', 'authorization'], allowCredentials: true }, async (r) => {
      // Positive control: one Authorization line is forwarded when opted in.
      const one = await r.send([`Authorization: Bearer ${SENTINEL_CLIENT_AUTH}`]);
      assert.equal(one.status, 200);
      assert.deepEqual(wireValues(r.backend.last(), 'authorization'), [`Bearer ${SENTINEL_CLIENT_AUTH}`]);
      const before = r.backend.requests.length;
      const res = await r.send([`Authorization: Bearer ${SENTINEL_CLIENT_AUTH}`, `authorization: Bearer ${SENTINEL}-second-token`]);
      assert.equal(r.backend.requests.length, before, 'not forwarded');
      assertRefusal(res, r, 400, 'duplicate_header', 'authorization');
    });
  });

  it('B8: without the opt-in, duplicate Authorization lines are simply never forwarded', async () => {
    await withRelay({}, async (r) => {
      const res = await r.send([`Authorization: Bearer ${SENTINEL_CLIENT_AUTH}`, `Authorization: Bearer ${SENTINEL}-second-token`]);
      assert.equal(res.status, 200);
      const got = r.backend.last();
      assert.deepEqual(wireValues(got, 'authorization'), []);
      assert.ok(!wireText(got).includes(SENTINEL_CLIENT_AUTH));
    });
  });

  it('B9: surrounding whitespace ("  \\t k1 \\t ") is trimmed by Node and the trimmed value is forwarded', async () => {
    await withRelay({}, async (r) => {
      const res = await r.send([`X-Mcp-Api-Key:  \t ${SENTINEL_KEY} \t `]);
      assert.equal(res.status, 200);
      assert.deepEqual(wireValues(r.backend.last(), 'x-mcp-api-key'), [SENTINEL_KEY]);
    });
  });

  describe('B10: empty values, on one gateway', () => {
    const relay = sharedRelay();
    for (const line of ['X-Mcp-Api-Key:', 'X-Mcp-Api-Key:    ', 'X-Mcp-Api-Key: \t']) {
      it(`B10: ${JSON.stringify(line)} (empty or whitespace only) counts as absent: not captured, not forwarded`, async () => {
        const r = relay();
        const res = await r.send([line, `X-Tenant: ${SENTINEL_TENANT}`]);
        assert.equal(res.status, 200);
        assert.deepEqual(r.captured.at(-1), { 'x-tenant': SENTINEL_TENANT });
        const got = r.backend.last();
        assert.ok(!wireNames(got).includes('x-mcp-api-key'), `an empty key was forwarded: ${wireText(got)}`);
      });
    }
  });

  it("B11: a 12 KB allowlisted value (under Node's 16 KiB) → 431 JSON header_too_large, not forwarded", async () => {
    await withRelay({}, async (r) => {
      const res = await r.send([`X-Mcp-Api-Key: ${SENTINEL_KEY}${'k'.repeat(12 * 1024)}`]);
      assertRejected(r, res, 431, 'header_too_large', 'x-mcp-api-key');
      await assertAlive(r);
    });
  });

  it("B11: a 12 KB protocol value is the client's message to the backend: forwarded whole, bounded by Node's 16 KiB only", async () => {
    await withRelay({}, async (r) => {
      const value = 's'.repeat(12 * 1024);
      const res = await r.send([`Mcp-Param-Query: ${value}`]);
      assert.equal(res.status, 200);
      assert.deepEqual(wireValues(r.backend.last(), 'mcp-param-query'), [value]);
      const tooBig = await r.send([`Mcp-Param-Query: ${'s'.repeat(17 * 1024)}`]);
      assert.equal(tooBig.status, 431, "Node's own limit still applies");
      await assertAlive(r);
    });
  });

  it('B11: the default per-value limit is 8192 bytes: 8192 is forwarded intact, 8193 gets 431', async () => {
    await withRelay({}, async (r) => {
      const exact = `${SENTINEL_KEY}${'k'.repeat(8192 - SENTINEL_KEY.length)}`;
      const ok = await r.send([`X-Mcp-Api-Key: ${exact}`]);
      assert.equal(ok.status, 200);
      assert.deepEqual(wireValues(r.backend.last(), 'x-mcp-api-key'), [exact]);
      const count = r.backend.requests.length;
      const res = await r.send([`X-Mcp-Api-Key: ${exact}k`]);
      assert.equal(r.backend.requests.length, count, 'the 8193-byte value was forwarded');
      assertRefusal(res, r, 431, 'header_too_large', 'x-mcp-api-key');
    });
  });

  describe('B12: list-like single values, on one gateway', () => {
    const relay = sharedRelay();
    for (const separator of [',', ', ']) {
      it(`B12: a single line "k1${separator}k2" (a legal single value) is forwarded as is; only repeated lines are refused`, async () => {
        const r = relay();
        const value = `${SENTINEL_KEY}${separator}k2`;
        const res = await r.send([`X-Mcp-Api-Key: ${value}`]);
        assert.equal(res.status, 200);
        assert.deepEqual(wireValues(r.backend.last(), 'x-mcp-api-key'), [value]);
      });
    }
  });

  it('B13: "Mcp-Param-X: =?base64?…?=" and other Mcp-Param-* values are forwarded untouched', async () => {
    await withRelay({}, async (r) => {
      const encoded = `=?base64?${Buffer.from(`${SENTINEL}-param`).toString('base64')}?=`;
      const res = await r.send([`Mcp-Param-X: ${encoded}`, 'Mcp-Param-Region: us west\t1', `X-Mcp-Api-Key: ${SENTINEL_KEY}`]);
      assert.equal(res.status, 200);
      const got = r.backend.last();
      assert.deepEqual(wireValues(got, 'mcp-param-x'), [encoded]);
      assert.deepEqual(wireValues(got, 'mcp-param-region'), ['us west\t1']);
      assert.deepEqual(wireValues(got, 'x-static'), [STATIC_VALUE]);
      assert.deepEqual(wireValues(got, 'x-backend-auth'), [SENTINEL_SECRET]);
    });
  });
});
