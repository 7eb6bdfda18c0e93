/** Header templates as pure functions: what parses, what throws at construction, and what renders. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HeaderConfigError } from '../../lib/index.js';
import { parseTemplate, renderTemplate, templateInputs, type TemplateInputs } from '../../lib/header-templates.js';

const PATH = 'headers.template["Authorization"]';
const parse = (template: string) =>
  parseTemplate(
    template,
    PATH,
    (name) => name.toLowerCase(),
    (name) => name,
  );

const inputs = (captured: Record<string, string>, secrets: Record<string, string> = {}, principal?: string): TemplateInputs => ({
  captured: (name) => captured[name],
  secret: (name) => secrets[name],
  principal: () => principal,
});

describe('parseTemplate', () => {
  const valid: [string, ReturnType<typeof parse>][] = [
    [
      'Bearer {captured:X-User-Token}',
      [
        { kind: 'text', text: 'Bearer ' },
        { kind: 'captured', name: 'x-user-token' },
      ],
    ],
    ['{secret:FIGMA_TOKEN}', [{ kind: 'secret', secret: 'FIGMA_TOKEN' }]],
    [
      'user={principal};tenant={captured:x-tenant}',
      [{ kind: 'text', text: 'user=' }, { kind: 'principal' }, { kind: 'text', text: ';tenant=' }, { kind: 'captured', name: 'x-tenant' }],
    ],
    ['{{literal}} braces', [{ kind: 'text', text: '{literal} braces' }]],
    ['plain text only', [{ kind: 'text', text: 'plain text only' }]],
  ];
  for (const [template, parts] of valid) it(`parses ${JSON.stringify(template)}`, () => assert.deepEqual(parse(template), parts));

  const invalid: [string, RegExp][] = [
    ['Bearer {token}', /is not a placeholder/],
    ['Bearer {vault:token}', /unknown source "vault"/],
    ['Bearer {captured:}', /is not a placeholder/],
    ['Bearer {captured:x', /unmatched "\{"/],
    ['Bearer }', /unmatched "\}"/],
    ['Bearer {captured:x}\r\nX-Evil: 1', /literal text may contain only visible ASCII/],
    ['', /empty/],
  ];
  for (const [template, rule] of invalid) {
    it(`refuses ${JSON.stringify(template)} with ERR_INVALID_TEMPLATE naming the option path`, () => {
      assert.throws(
        () => parse(template),
        (err: unknown) => err instanceof HeaderConfigError && err.code === 'ERR_INVALID_TEMPLATE' && err.path === PATH && rule.test(err.rule),
      );
    });
  }

  it('hands each captured and secret name to the route checks, which may refuse it', () => {
    const refuse = (): string => {
      throw new HeaderConfigError('ERR_RESTRICTED_HEADER', PATH, 'restricted');
    };
    assert.throws(() => parseTemplate('{captured:host}', PATH, refuse, (n) => n), { code: 'ERR_RESTRICTED_HEADER' });
    assert.throws(() => parseTemplate('{secret:../x}', PATH, (n) => n, refuse), { code: 'ERR_RESTRICTED_HEADER' });
  });

  it('templateInputs lists what a template reads', () => {
    assert.deepEqual(templateInputs(parse('{captured:a}-{secret:S}-{principal}-{captured:b}')), { captured: ['a', 'b'], secrets: ['S'], principal: true });
  });
});

describe('renderTemplate', () => {
  const rows: [string, string, TemplateInputs, string | undefined][] = [
    ['all inputs present', 'Bearer {captured:x-user-token}', inputs({ 'x-user-token': 'tok' }), 'Bearer tok'],
    ['an absent captured input yields no header, not "Bearer "', 'Bearer {captured:x-user-token}', inputs({}), undefined],
    ['an empty captured input counts as absent', 'Bearer {captured:x-user-token}', inputs({ 'x-user-token': '' }), undefined],
    ['a secret and the principal', '{secret:S}:{principal}', inputs({}, { S: 'k' }, 'alice'), 'k:alice'],
    ['no principal: no header', 'user={principal}', inputs({}), undefined],
    ['literal text alone', 'v1', inputs({}), 'v1'],
  ];
  for (const [label, template, given, expected] of rows) it(label, () => assert.equal(renderTemplate(parse(template), given), expected));
});
