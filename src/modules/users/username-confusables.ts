import unhomoglyph from 'unhomoglyph';
import propertyValues from 'unicode-match-property-value-ecmascript/data/mappings.js';

/**
 * Usernames are unique by their confusable skeleton (Unicode TS #39 §4) and written in one script
 * (TS #39 §5.1, single-script resolution). The confusable mapping is Unicode's confusables.txt as
 * the `unhomoglyph` package ships it (generated from that file, never typed by hand); the script of
 * each character comes from the regex engine's own Script_Extensions data, whose script names are
 * listed by `unicode-match-property-value-ecmascript` (the table Babel uses for the same escapes).
 */

/**
 * The key two usernames share when they look alike: NFKC, case-folded, then the TS #39 skeleton
 * (NFD, each character to its prototype, NFD), lower-cased again because prototypes can be capitals
 * (`0` → `O`), so `rооtadmin` (Cyrillic о), `r00tadmin` and `RootAdmin` all key as `rootadrnin`.
 * The key is for comparing only; it is never shown.
 */
export function usernameSkeleton(input: string): string {
  const folded = input.normalize('NFKC').toLowerCase();
  return unhomoglyph(folded.normalize('NFD')).normalize('NFD').toLowerCase();
}

/** Characters that belong to every script (digits, `_`, `.`, `-`, combining marks) and so mix with any. */
const ANY_SCRIPT = /^[\p{Script_Extensions=Common}\p{Script_Extensions=Inherited}]$/u;
/** The common case, decided by one test: Latin letters plus characters of any script. */
const LATIN_ONLY = /^[\p{Script_Extensions=Latin}\p{Script_Extensions=Common}\p{Script_Extensions=Inherited}]*$/u;

/** One Script_Extensions test per script the engine knows (Common and Inherited aside). */
const SCRIPT_TESTS: [string, RegExp][] = [...new Set(propertyValues.get('Script_Extensions')!.values())]
  .filter((name) => name !== 'Common' && name !== 'Inherited')
  .flatMap((name): [string, RegExp][] => {
    try {
      return [[name, new RegExp(`^\\p{Script_Extensions=${name}}$`, 'u')]];
    } catch {
      return []; // a script newer than this Node's regex engine: none of its characters pass \p{L} here either
    }
  });

/** TS #39's augmented script sets: Han writing mixes with kana (Japanese), Hangul (Korean) and Bopomofo. */
const AUGMENTED: Record<string, string[]> = {
  Han: ['Japanese', 'Korean', 'Han_with_Bopomofo'],
  Hiragana: ['Japanese'],
  Katakana: ['Japanese'],
  Hangul: ['Korean'],
  Bopomofo: ['Han_with_Bopomofo'],
};

function scriptsOf(char: string): Set<string> {
  const scripts = new Set<string>();
  for (const [name, test] of SCRIPT_TESTS) {
    if (!test.test(char)) continue;
    scripts.add(name);
    for (const extra of AUGMENTED[name] ?? []) scripts.add(extra);
  }
  return scripts;
}

/** TS #39 §5.1: the scripts every character of `chars` shares (characters of every script aside); null when there is none to judge. */
function resolvedScripts(chars: string[]): Set<string> | null {
  let resolved: Set<string> | null = null;
  for (const char of chars) {
    if (ANY_SCRIPT.test(char)) continue;
    const own = scriptsOf(char);
    resolved = resolved ? new Set<string>(Array.from<string>(resolved).filter((script) => own.has(script))) : own;
    if (resolved.size === 0) break;
  }
  return resolved;
}

const LATIN = /^\p{Script_Extensions=Latin}$/u;
const CJK = ['Japanese', 'Korean', 'Han_with_Bopomofo'];

/**
 * True when `text` is written in one writing system: TS #39's "Highly Restrictive" level (§5.2).
 * Either one script (its resolved script set is not empty: `alice_01`, `иван_петров`, `山田タロウ`,
 * Han with Katakana being Japanese), or Latin mixed with one of Chinese, Japanese or Korean
 * writing (`张三_dev`), which cannot be confused with each other. `pаypal` with a Cyrillic а, Greek
 * with Latin, or Cyrillic with Han are refused.
 */
export function isOneWritingSystem(text: string): boolean {
  if (LATIN_ONLY.test(text)) return true;
  const chars = [...text];
  const all = resolvedScripts(chars);
  if (!all || all.size > 0) return true;
  const nonLatin = resolvedScripts(chars.filter((char) => !LATIN.test(char)));
  return !!nonLatin && CJK.some((script) => nonLatin.has(script));
}
