/**
 * Deterministic, collision-free mapping of foreign identifiers onto valid aloft names.
 * Identifiers that are already valid keep their exact spelling (they are reserved first);
 * the others are sanitised and, on a clash, get the smallest free `_2`, `_3`, ... suffix,
 * in order of first appearance. Same input order → same mapping.
 */
export class UniqueNames {
  private readonly byRaw = new Map<string, string>();
  private readonly used = new Set<string>();

  constructor(
    private readonly isValid: (raw: string) => boolean,
    private readonly sanitize: (raw: string) => string,
    private readonly maxLength = Infinity,
  ) {}

  /** Register every identifier, in order of first appearance, before asking for names. */
  assign(raws: Iterable<string>): void {
    const pending: string[] = [];
    for (const raw of raws) {
      if (this.byRaw.has(raw)) continue;
      if (this.isValid(raw)) {
        this.byRaw.set(raw, raw);
        this.used.add(raw);
      } else {
        this.byRaw.set(raw, '');
        pending.push(raw);
      }
    }
    for (const raw of pending) {
      const base = this.sanitize(raw);
      let name = base;
      for (let n = 2; this.used.has(name); n++) {
        const suffix = `_${n}`;
        name = base.slice(0, this.maxLength - suffix.length) + suffix;
      }
      this.byRaw.set(raw, name);
      this.used.add(name);
    }
  }

  /** The name assigned to `raw` (assigning one on the spot if it was not registered). */
  get(raw: string): string {
    const name = this.byRaw.get(raw);
    if (name !== undefined && name !== '') return name;
    this.assign([raw]);
    return this.byRaw.get(raw) as string;
  }
}
