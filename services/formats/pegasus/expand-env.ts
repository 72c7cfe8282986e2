/**
 * `${VAR}` expansion in Pegasus YAML string values (Pegasus expands environment variables in
 * catalogs, e.g. `path: ${PWD}/scratch`).
 *
 * Contract:
 * - `${NAME}` (NAME = `[A-Za-z_][A-Za-z0-9_]*`) is replaced by `env[NAME]`; an empty value
 *   is a value. An unset variable is reported through `onMissing` and left as written.
 * - `$${NAME}` is the escape: it yields the literal text `${NAME}` (as in docker compose).
 * - Anything else is left alone: a bare `$VAR`, `$$`, `${` without a valid name and `}`,
 *   so shell snippets such as `$(date)` or `$1` in arguments pass through unchanged.
 */

const VAR = /\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

export function expandVars(
  text: string,
  env: NodeJS.ProcessEnv,
  onMissing: (name: string) => void,
): string {
  // Fast path: nearly every scalar in a large workflow has no `${` at all.
  if (!text.includes('${')) return text;
  return text.replace(VAR, (whole: string, escape: string, name: string) => {
    if (escape === '$') return whole.slice(1);
    const value = env[name];
    if (value === undefined) {
      onMissing(name);
      return whole;
    }
    return value;
  });
}
