// Test-only preload (`node --require`): when the process exits, writes the npm packages it loaded
// (from require.cache) to LOADED_PACKAGES_FILE, one name a line. start-up-footprint.e2e-spec.ts uses it.
'use strict';
const { writeFileSync } = require('node:fs');

process.on('exit', () => {
  const names = new Set();
  for (const file of Object.keys(require.cache)) {
    const at = file.lastIndexOf('/node_modules/');
    if (at < 0) continue;
    const parts = file.slice(at + '/node_modules/'.length).split('/');
    names.add(parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]);
  }
  writeFileSync(process.env.LOADED_PACKAGES_FILE, [...names].sort().join('\n') + '\n');
});
