/**
 * Names as they appear on an identity document: Chinese characters, with a middle dot between
 * the parts of a transliterated name (阿卜杜拉·买买提), or Latin letters with spaces and dots
 * (J. R. Smith). Look-alike dots are folded to U+00B7 and runs of spaces to one.
 */
const MIDDLE_DOTS = /[\u2022\u2027\u2219\u22C5\u30FB\uFF65\u00B7]/g;
const HAN_NAME = /^\p{Script=Han}+(?:·\p{Script=Han}+)*$/u;
const LATIN_NAME = /^\p{Script=Latin}+(?:(?:\. ?| )\p{Script=Latin}+)*\.?$/u;
const MIN_LENGTH = 2;
const MAX_LENGTH = 30;

/** The normalised name, or null when it is not an acceptable name. */
export function normalisePersonName(input: string): string | null {
  const name = input.normalize('NFKC').trim().replace(/\s+/g, ' ').replace(MIDDLE_DOTS, '·');
  const length = [...name].length;
  if (length < MIN_LENGTH || length > MAX_LENGTH) return null;
  return HAN_NAME.test(name) || LATIN_NAME.test(name) ? name : null;
}

/** `张*`, `欧***`: the first character, then one star for each other character. */
export function maskPersonName(name: string): string {
  const [first, ...rest] = [...name];
  return `${first ?? ''}${'*'.repeat(rest.length)}`;
}
