/** A header name in every casing a client or a configuration might write: lower, UPPER, Mixed-Case and aLtErNaTiNg. */
export function casings(name: string): string[] {
  const mixed = name
    .split('-')
    .map((part) => (part ? part[0]!.toUpperCase() + part.slice(1) : part))
    .join('-');
  const alternating = [...name].map((c, i) => (i % 2 ? c.toUpperCase() : c)).join('');
  return [...new Set([name, name.toUpperCase(), mixed, alternating])];
}
