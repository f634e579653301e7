/** Types for a data file of a package that ships none. */
declare module 'unicode-match-property-value-ecmascript/data/mappings.js' {
  /** Property name → (alias → canonical value name), as ECMAScript's RegExp property escapes accept them. */
  const mappings: Map<string, Map<string, string>>;
  export default mappings;
}
