/**
 * formatExplanation: an Explanation as text tables, for a REPL, a test's failure message and the demo.
 * It prints only what the Explanation holds, so it can show no more than the result does.
 */
import type { Explanation } from './explain-types.js';

/** A readable multi-line rendering of `route.explain(...)`'s result. */
export function formatExplanation(result: Explanation): string {
  const lines = [`${result.method} ${result.route} -> ${result.target}`];
  const { rejection } = result;
  if (rejection) {
    lines.push(`Outcome: rejected by ${rejection.by}: ${rejection.status} ${rejection.reason}${rejection.header ? ` (header ${rejection.header})` : ''}`);
    lines.push(`  client sees: ${rejection.message}`);
    if (rejection.detail) lines.push(`  log detail:  ${rejection.detail}`);
  } else {
    lines.push('Outcome: forwarded');
    lines.push('', 'The backend receives:');
    lines.push(
      ...table(
        ['header', 'value', 'source', 'from'],
        result.forwarded.map((h) => [h.name, h.value, h.source, h.detail ?? '']),
      ),
    );
    if (result.dropped.length > 0) {
      lines.push('', 'Sent by the client, not forwarded:');
      lines.push(
        ...table(
          ['header', 'reason', 'why'],
          result.dropped.map((h) => [h.name, h.reason, h.detail]),
        ),
      );
    }
    if (result.omitted.length > 0) {
      lines.push('', 'Set by the route, but not for this request:');
      lines.push(
        ...table(
          ['header', 'source', 'reason', 'why'],
          result.omitted.map((h) => [h.name, h.source, h.reason, h.detail]),
        ),
      );
    }
  }
  if (result.notes.length > 0) lines.push('', 'Notes:', ...result.notes.map((n) => `  - ${n}`));
  return lines.join('\n');
}

/** Columns padded to their widest cell, two spaces apart, indented by two. */
function table(columns: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]): string => `  ${cells.map((c, i) => c.padEnd(widths[i]!)).join('  ')}`.trimEnd();
  return [line(columns), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}
