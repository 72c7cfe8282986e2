/**
 * Aligned plain-text tables for the projections' terminal output: a header row, a rule,
 * the rows. Columns are left-aligned unless marked numeric (right-aligned). No colour and
 * no trailing spaces, so the output is stable for tests and friendly to grep.
 */

export interface Column {
  title: string;
  /** Right-align (numbers). */
  right?: boolean;
}

export function formatTable(
  columns: readonly Column[],
  rows: readonly (readonly string[])[],
): string {
  const widths = columns.map((c, i) =>
    Math.max(c.title.length, ...rows.map((r) => (r[i] ?? '').length)),
  );
  const line = (cells: readonly string[]): string =>
    columns
      .map((c, i) => {
        const v = cells[i] ?? '';
        const w = widths[i]!;
        return c.right ? v.padStart(w) : v.padEnd(w);
      })
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(columns.map((c) => c.title)), rule, ...rows.map(line)].join('\n');
}
