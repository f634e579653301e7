// Regenerates src/modules/users/password/common-passwords.txt from @zxcvbn-ts/language-common
// (MIT; a frequency-ranked list from leaked-password corpora). We keep the 10,000 most common entries
// that are long enough to pass the length rule at all, since shorter ones are refused anyway.
const { writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { dictionary } = require('@zxcvbn-ts/language-common');

const seen = new Set();
for (const password of dictionary.passwords) {
  const normalised = password.normalize('NFKC').toLowerCase();
  if ([...normalised].length >= 8) seen.add(normalised);
  if (seen.size === 10000) break;
}
const target = join(__dirname, '..', 'src', 'modules', 'users', 'password', 'common-passwords.txt');
writeFileSync(target, [...seen].join('\n') + '\n');
console.log(`wrote ${seen.size} passwords to ${target}`);
