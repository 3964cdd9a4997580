/** Longest label value (in UTF-16 code units) recorded as itself, model names included. */
export const MAX_LABEL_VALUE_LENGTH = 256;

/** A lone UTF-16 surrogate cannot be encoded in UTF-8 (two such values would print as one series); a control character is no one's name. */
const LONE_SURROGATE = /\p{Cs}/u;
const LONE_SURROGATE_OR_CONTROL = /[\p{Cs}\p{Cc}]/u;

/**
 * Whether `value` can be recorded as a label value: a non-empty string of at
 * most 256 code units without lone surrogates, and, unless
 * `controlCharacters` are allowed (model names are recorded as given), without
 * control characters.
 */
export function isUsableLabelValue(value: unknown, controlCharacters = false): value is string {
  return (
    typeof value === 'string' &&
    value.length > 0 &&
    value.length <= MAX_LABEL_VALUE_LENGTH &&
    !(controlCharacters ? LONE_SURROGATE : LONE_SURROGATE_OR_CONTROL).test(value)
  );
}

/** An allow-list of values, or a predicate deciding which values are recorded as themselves. */
export type AllowList = readonly string[] | ((value: string) => boolean);

/** The predicate of an allow-list (membership of its values, or the function itself; with none, everything is allowed); a predicate that throws refuses. */
export function allowListPredicate(list: AllowList | undefined): (value: string) => boolean {
  if (typeof list === 'function') {
    return (value) => {
      try {
        return list(value) === true;
      } catch {
        return false;
      }
    };
  }
  if (list) {
    const allowed = new Set(list);
    return (value) => allowed.has(value);
  }
  return () => true;
}

/** Whether `list` is an allow-list: an array of strings or a function. */
export function isAllowList(list: unknown): list is AllowList {
  return typeof list === 'function' || (Array.isArray(list) && list.every((value) => typeof value === 'string'));
}
