#!/usr/bin/env node
// Sums self time per function in a V8 .cpuprofile (from `node --cpu-prof`) and prints the top
// frames: `node scripts/bench/profile-top.js file.cpuprofile [count]`.
const { readFileSync } = require('node:fs');
const { relative } = require('node:path');

function topFrames(file, count = 25) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map();
  const deltas = profile.timeDeltas;
  let total = 0;
  profile.samples.forEach((id, index) => {
    const node = byId.get(id);
    const us = deltas[index] ?? 0;
    total += us;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url ? `${relative(process.cwd(), url.replace('file://', ''))}:${lineNumber + 1}` : '';
    const key = `${functionName || '(anonymous)'} ${where}`.trim();
    self.set(key, (self.get(key) ?? 0) + us);
  });
  const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, count);
  return rows.map(([key, us]) => `${((us / total) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${key}`).join('\n');
}

if (require.main === module) {
  process.stdout.write(`${topFrames(process.argv[2], Number(process.argv[3] ?? 30))}\n`);
}

module.exports = { topFrames };
