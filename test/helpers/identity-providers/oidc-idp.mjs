// A real OpenID Connect provider (panva's oidc-provider) on loopback, for the federation tests.
// oidc-provider is ESM-only, so it runs in its own Node process (started by test/helpers/oidc-idp.ts);
// it prints {"issuer": ...} once listening. Configured by IDP_CLIENTS (JSON array of client metadata).
// Test controls (not part of OpenID Connect): POST /__test/accounts, /__test/mode, /__test/expire-codes.
import { createServer } from 'node:http';
import Provider from 'oidc-provider';
import * as jose from 'jose';

const clients = JSON.parse(process.env.IDP_CLIENTS ?? '[]');
const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
const signingJwk = { ...(await jose.exportJWK(privateKey)), kid: 'idp-key', use: 'sig', alg: 'RS256' };
// Same kid, other key: what an attacker without the provider's key would sign with.
const { privateKey: otherKey } = await jose.generateKeyPair('RS256');

const accounts = new Map();
const mode = { idToken: 'normal' };

const store = new Map();
class MemoryAdapter {
  constructor(name) {
    this.name = name;
  }
  key(id) {
    return `${this.name}:${id}`;
  }
  async upsert(id, payload) {
    store.set(this.key(id), payload);
  }
  async find(id) {
    return store.get(this.key(id));
  }
  async findByUid(uid) {
    for (const [key, payload] of store) if (key.startsWith(`${this.name}:`) && payload.uid === uid) return payload;
    return undefined;
  }
  async findByUserCode() {
    return undefined;
  }
  async consume(id) {
    const payload = store.get(this.key(id));
    if (payload) payload.consumed = Math.floor(Date.now() / 1000);
  }
  async destroy(id) {
    store.delete(this.key(id));
  }
  async revokeByGrantId(grantId) {
    for (const [key, payload] of store) if (payload.grantId === grantId) store.delete(key);
  }
}

const server = createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  adapter: MemoryAdapter,
  clients,
  jwks: { keys: [signingJwk] },
  cookies: { keys: ['oidc-idp-test-cookie-key'] },
  pkce: { required: () => true },
  features: { devInteractions: { enabled: false } },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'picture'] },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  findAccount: async (_ctx, id) => (accounts.has(id) ? { accountId: id, claims: async () => ({ sub: id, ...accounts.get(id) }) } : undefined),
});

// Re-signs the token endpoint's ID token when a test asks for a forged one.
provider.use(async (ctx, next) => {
  await next();
  if (ctx.path !== '/token' || mode.idToken === 'normal' || !ctx.body || typeof ctx.body !== 'object' || !ctx.body.id_token) return;
  const claims = jose.decodeJwt(ctx.body.id_token);
  if (mode.idToken === 'wrong-nonce') claims.nonce = 'not-the-nonce-that-was-sent';
  const key = mode.idToken === 'wrong-key' ? otherKey : privateKey;
  ctx.body = { ...ctx.body, id_token: await new jose.SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'idp-key', typ: 'JWT' }).sign(key) };
});

const callback = provider.callback();

async function readBody(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return body;
}

function html(res, status, text) {
  res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8' });
  res.end(text);
}

/** The sign-in page of this provider: one form, the account id and a password (any password). */
async function interaction(req, res, uid) {
  if (req.method === 'GET') {
    const details = await provider.interactionDetails(req, res);
    return html(
      res,
      200,
      `<!doctype html><title>Test IdP sign-in</title><h1>Sign in to the test provider</h1>
<form method="post" action="/interaction/${uid}"><input type="hidden" name="uid" value="${details.uid}">
<label>Account <input name="login" id="login" autocomplete="username"></label>
<label>Password <input name="password" id="password" type="password"></label>
<button type="submit" id="submit">Sign in</button></form>`,
    );
  }
  const form = new URLSearchParams(await readBody(req));
  const accountId = form.get('login') ?? '';
  if (!accounts.has(accountId)) return html(res, 401, '<!doctype html><p>Unknown account</p>');
  const details = await provider.interactionDetails(req, res);
  const grant = new provider.Grant({ accountId, clientId: details.params.client_id });
  grant.addOIDCScope(String(details.params.scope));
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { login: { accountId }, consent: { grantId } }, { mergeWithLastSubmission: false });
}

async function control(req, res, path) {
  const body = JSON.parse((await readBody(req)) || '{}');
  if (path === '/__test/accounts') accounts.set(body.id, body.claims ?? {});
  else if (path === '/__test/mode') mode.idToken = body.idToken ?? 'normal';
  else if (path === '/__test/expire-codes') {
    for (const [key, payload] of store) if (key.startsWith('AuthorizationCode:')) payload.exp = Math.floor(Date.now() / 1000) - 10;
  } else {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(204).end();
}

server.on('request', (req, res) => {
  const path = req.url.split('?')[0];
  const match = /^\/interaction\/([\w-]+)$/.exec(path);
  const handled = path.startsWith('/__test/') ? control(req, res, path) : match ? interaction(req, res, match[1]) : null;
  if (!handled) return callback(req, res);
  handled.catch((error) => {
    if (!res.headersSent) html(res, 500, `<!doctype html><p>${String(error.message).replace(/</g, '&lt;')}</p>`);
  });
});

process.stdout.write(`${JSON.stringify({ issuer })}\n`);
