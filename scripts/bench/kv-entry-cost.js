#!/usr/bin/env node
// Measures what the in-process structures cost the heap per entry, to size their byte bounds:
// pending captchas and revocation markers in the in-process store, the per-IP captcha lists, and
// verified access tokens in JwtStrategy's cache. Needs the build (dist/) and --expose-gc:
//   node --expose-gc scripts/bench/kv-entry-cost.js
const { randomUUID, createHash } = require('node:crypto');
const { join } = require('node:path');

const dist = join(__dirname, '..', '..', 'dist');
const { MemoryKvStore, ENTRY_OVERHEAD_BYTES } = require(join(dist, 'common', 'kv', 'memory-kv.store.js'));
const { EVICTABLE_KEY_PREFIXES } = require(join(dist, 'common', 'kv', 'kv.module.js'));

const clock = { now: () => Date.now() };
const heap = () => {
  global.gc();
  global.gc();
  return process.memoryUsage().heapUsed;
};

async function measure(label, count, fill) {
  const store = new MemoryKvStore(clock, { maxKeys: 10_000_000, maxBytes: 4096 * 1024 * 1024, evictable: (key) => EVICTABLE_KEY_PREFIXES.some((p) => key.startsWith(p)) });
  const before = heap();
  await fill(store, count);
  const after = heap();
  const perEntry = (after - before) / count;
  const charged = store.usage().bytes / store.usage().keys;
  process.stdout.write(`${label.padEnd(44)} ${String(Math.round(perEntry)).padStart(5)} B measured per key, ${Math.round(charged)} B charged (overhead constant ${ENTRY_OVERHEAD_BYTES})\n`);
  await store.close();
}

async function main() {
  if (typeof global.gc !== 'function') throw new Error('run with node --expose-gc');
  const n = 100_000;
  await measure('pending captcha (captcha:<uuid> → sha256 hex)', n, async (store, count) => {
    for (let i = 0; i < count; i += 1) await store.set(`captcha:${randomUUID()}`, createHash('sha256').update(String(i)).digest('hex'), 300_000);
  });
  await measure('revocation marker (revoked-session:<uuid> → 1)', n, async (store, count) => {
    for (let i = 0; i < count; i += 1) await store.set(`revoked-session:${randomUUID()}`, '1', 960_000);
  });
  await measure('attempt counter (login-failures:<name> → n)', n, async (store, count) => {
    for (let i = 0; i < count; i += 1) await store.reserveAttempt(`login-failures:user_${i}_${randomUUID().slice(0, 8)}`, 10, 3_600_000);
  });
  await measure('per-IP captcha list (20 ids each)', n / 20, async (store, count) => {
    for (let i = 0; i < count; i += 1) for (let j = 0; j < 20; j += 1) await store.pushCapped(`captcha-ip:10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, randomUUID(), 20, 300_000);
  });

  // Verified access tokens: real RS256 tokens of the server's shape, remembered by JwtStrategy.
  const { JwtStrategy, VERIFIED_ENTRY_OVERHEAD_BYTES } = require(join(dist, 'modules', 'auth', 'jwt.strategy.js'));
  const { generateKeyPairSync, createSign } = require('node:crypto');
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const b64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const tokens = Array.from({ length: 10_000 }, () => {
    const claims = { sub: randomUUID(), role: 'normal_user', sid: randomUUID(), jti: randomUUID(), auth_time: now, amr: ['pwd'], mfa_enabled: false, iat: now, exp: now + 900, iss: 'user-centre', aud: 'user-centre' };
    const body = `${b64({ alg: 'RS256', typ: 'JWT', kid: 'k1' })}.${b64(claims)}`;
    return { token: `${body}.${createSign('RSA-SHA256').update(body).sign(privateKey).toString('base64url')}`, claims };
  });
  const strategy = new JwtStrategy({ verify: async (t) => JSON.parse(Buffer.from(t.split('.')[1], 'base64url').toString()) }, { isRevoked: async () => false }, { tokens: { verifiedCache: { maxEntries: 1_000_000, maxBytes: 1024 * 1024 * 1024 } } });
  const tokenStrings = tokens.map((t) => t.token);
  tokens.length = 0;
  const before = heap();
  for (const token of tokenStrings) await strategy.authenticate(`Bearer ${token}`);
  const after = heap();
  // The token strings themselves are held by this script too: count them as the cache's, as in the server.
  const tokenChars = tokenStrings.reduce((sum, t) => sum + t.length, 0) / tokenStrings.length;
  const usage = strategy.cacheUsage();
  process.stdout.write(`${'verified access token (JwtStrategy)'.padEnd(44)} ${String(Math.round((after - before) / tokenStrings.length + tokenChars + 16)).padStart(5)} B measured per token (${Math.round(tokenChars)} characters), ${Math.round(usage.bytes / usage.entries)} B charged (overhead constant ${VERIFIED_ENTRY_OVERHEAD_BYTES})\n`);
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
