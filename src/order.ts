/**
 * Locale-independent ordering: output must not depend on the machine's
 * locale, so names are compared by code unit, never with localeCompare.
 */

/** Compares two strings by UTF-16 code unit. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Returns a sorted copy of `items`, ordered by `key`. */
export function sortBy<T>(items: readonly T[], key: (item: T) => string): T[] {
  return [...items].sort((a, b) => compareStrings(key(a), key(b)));
}
