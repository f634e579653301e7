import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

export interface IdpAccount {
  email?: string;
  email_verified?: boolean;
  name?: string;
  picture?: string;
}

export interface IdpClient {
  client_id: string;
  client_secret: string;
  redirect_uris: string[];
}

/**
 * A real OpenID Connect provider (oidc-provider) in a child process on loopback, with a sign-in
 * form, a test-only control surface, and a scripted browser that walks its pages.
 */
export class OidcIdp {
  private constructor(
    readonly issuer: string,
    private readonly child: ChildProcess,
  ) {}

  static async start(clients: IdpClient[]): Promise<OidcIdp> {
    const child = spawn(process.execPath, [join(__dirname, 'identity-providers', 'oidc-idp.mjs')], {
      env: { PATH: process.env.PATH ?? '', IDP_CLIENTS: JSON.stringify(clients.map((client) => ({ ...client, token_endpoint_auth_method: 'client_secret_basic' }))) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const issuer = await new Promise<string>((resolve, reject) => {
      child.stdout!.on('data', (data: Buffer) => {
        output += data.toString();
        const line = /\{"issuer":"[^"]+"\}/.exec(output);
        if (line) resolve((JSON.parse(line[0]) as { issuer: string }).issuer);
      });
      child.stderr!.on('data', (data: Buffer) => (output += data.toString()));
      child.once('exit', (code) => reject(new Error(`the test IdP exited (${code}):\n${output}`)));
    });
    return new OidcIdp(issuer, child);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGKILL');
    await exited;
  }

  addAccount(id: string, claims: IdpAccount): Promise<void> {
    return this.control('/__test/accounts', { id, claims });
  }

  /** normal, or what the token endpoint's ID token becomes: signed by another key, or with another nonce. */
  setIdTokenMode(idToken: 'normal' | 'wrong-key' | 'wrong-nonce'): Promise<void> {
    return this.control('/__test/mode', { idToken });
  }

  /** Every authorization code issued so far is past its expiry. */
  expireCodes(): Promise<void> {
    return this.control('/__test/expire-codes', {});
  }

  /**
   * What a browser does: opens the authorization URL, signs in on the provider's form as `accountId`,
   * and follows the redirects until they leave the provider. Returns that URL (our callback).
   */
  async signIn(authorizationUrl: string, accountId: string): Promise<URL> {
    const jar = new Map<string, string>();
    const go = async (url: string, init: RequestInit = {}) => {
      const cookie = [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
      const response = await fetch(url, { ...init, redirect: 'manual', headers: { ...(init.headers as Record<string, string>), ...(cookie ? { cookie } : {}) } });
      for (const line of response.headers.getSetCookie()) {
        const pair = line.split(';')[0];
        jar.set(pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1));
      }
      return response;
    };
    let url = new URL(authorizationUrl);
    for (let hop = 0; hop < 10; hop += 1) {
      if (url.origin !== new URL(this.issuer).origin) return url;
      const response = url.pathname.startsWith('/interaction/')
        ? await go(url.href, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ login: accountId, password: 'any' }).toString() })
        : await go(url.href);
      const location = response.headers.get('location');
      if (!location) throw new Error(`the provider answered ${response.status} at ${url.pathname}: ${await response.text()}`);
      url = new URL(location, url);
    }
    throw new Error('too many redirects at the provider');
  }

  private async control(path: string, body: unknown): Promise<void> {
    const response = await fetch(`${this.issuer}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (response.status !== 204) throw new Error(`IdP control ${path} answered ${response.status}`);
  }
}
