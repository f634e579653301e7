// Many clients behind one proxy: captcha requests carry X-Forwarded-For from a pool of addresses, and
// the server believes it from 127.0.0.1 (TRUSTED_PROXIES=127.0.0.1). Each client then holds at most
// CAPTCHA_PER_IP pending captchas, as in production, and the pending captchas of all of them fill the
// in-process store up to its own bound. Raising CAPTCHA_PER_IP for one address instead would measure a
// single client holding a list of every captcha it ever asked for, which no deployment has.
const { randomInt } = require('node:crypto');

const CLIENT_POOL_SIZE = 5000;
const pool = Array.from({ length: CLIENT_POOL_SIZE }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);

/** Headers of a request from one of the pool's clients, at random. */
function fromSomeClient(headers = {}) {
  return { ...headers, 'x-forwarded-for': pool[randomInt(CLIENT_POOL_SIZE)] };
}

module.exports = { CLIENT_POOL_SIZE, fromSomeClient };
