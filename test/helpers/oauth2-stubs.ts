import { createHash, randomBytes } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';

/**
 * Small loopback servers that implement the documented endpoints of GitHub's OAuth apps and of
 * WeChat's website sign-in, with their answers and error shapes (GitHub: HTTP 200 with `error` from
 * the token endpoint; WeChat: HTTP 200 with `errcode` everywhere). "Who is signed in at the provider"
 * is set by the test (signInAs), since their real authorization pages are interactive.
 */
abstract class StubServer {
  protected server!: Server;
  origin = '';
  /** The person whose browser is signed in at the provider. */
  protected current: string | null = null;

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        res.writeHead(500).end(String(error));
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.origin = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  signInAs(personId: string): void {
    this.current = personId;
  }

  /** What the browser does at the provider: open the authorization URL and follow its redirect back. */
  async authorize(authorizationUrl: string, personId: string): Promise<URL> {
    this.signInAs(personId);
    const response = await fetch(authorizationUrl, { redirect: 'manual' });
    const location = response.headers.get('location');
    if (response.status !== 302 || !location) throw new Error(`authorize answered ${response.status}: ${await response.text()}`);
    return new URL(location);
  }

  protected abstract handle(req: IncomingMessage, res: ServerResponse): Promise<void>;

  protected json(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(body));
  }

  protected async body(req: IncomingMessage): Promise<URLSearchParams> {
    let text = '';
    for await (const chunk of req) text += chunk;
    return new URLSearchParams(text);
  }
}

export interface GithubPerson {
  id: number;
  login: string;
  name: string | null;
  avatar_url?: string;
  emails: { email: string; primary: boolean; verified: boolean; visibility: string | null }[];
}

export class GithubStub extends StubServer {
  readonly clientId = 'gh-client-id';
  readonly clientSecret = 'gh-client-secret';
  private readonly people = new Map<string, GithubPerson>();
  private readonly codes = new Map<string, { person: string; redirectUri: string; challenge: string | null }>();
  private readonly tokens = new Map<string, string>();

  addPerson(person: Omit<GithubPerson, 'id'> & { id?: number }): GithubPerson {
    const full = { id: person.id ?? Math.floor(Math.random() * 1e9), ...person } as GithubPerson;
    this.people.set(String(full.id), full);
    return full;
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url!, this.origin);
    if (req.method === 'GET' && url.pathname === '/login/oauth/authorize') {
      // https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps#1-request-a-users-github-identity
      if (url.searchParams.get('client_id') !== this.clientId || !this.current) return this.json(res, 404, { message: 'Not Found' });
      const code = randomBytes(10).toString('hex');
      this.codes.set(code, { person: this.current, redirectUri: url.searchParams.get('redirect_uri')!, challenge: url.searchParams.get('code_challenge') });
      const back = new URL(url.searchParams.get('redirect_uri')!);
      back.searchParams.set('code', code);
      back.searchParams.set('state', url.searchParams.get('state') ?? '');
      res.writeHead(302, { Location: back.href }).end();
      return;
    }
    if (req.method === 'POST' && url.pathname === '/login/oauth/access_token') {
      // Errors are HTTP 200 with `error` (https://docs.github.com/en/apps/oauth-apps/maintaining-oauth-apps/troubleshooting-oauth-app-access-token-request-errors).
      const form = await this.body(req);
      if (form.get('client_id') !== this.clientId || form.get('client_secret') !== this.clientSecret) return this.json(res, 200, { error: 'incorrect_client_credentials', error_description: 'The client_id and/or client_secret passed are incorrect.' });
      const grant = this.codes.get(form.get('code') ?? '');
      this.codes.delete(form.get('code') ?? '');
      if (!grant) return this.json(res, 200, { error: 'bad_verification_code', error_description: 'The code passed is incorrect or expired.' });
      if (grant.redirectUri !== form.get('redirect_uri')) return this.json(res, 200, { error: 'redirect_uri_mismatch', error_description: 'The redirect_uri MUST match the registered callback URL for this application.' });
      const verifier = form.get('code_verifier');
      if (grant.challenge && (!verifier || createHash('sha256').update(verifier).digest('base64url') !== grant.challenge)) return this.json(res, 200, { error: 'bad_verification_code', error_description: 'The code_verifier does not match.' });
      const token = `gho_${randomBytes(16).toString('hex')}`;
      this.tokens.set(token, grant.person);
      return this.json(res, 200, { access_token: token, token_type: 'bearer', scope: 'read:user,user:email' });
    }
    const person = this.tokens.get((req.headers.authorization ?? '').replace(/^(Bearer|token) /, ''));
    if (!person) return this.json(res, 401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' });
    const { emails, ...user } = this.people.get(person)!;
    if (req.method === 'GET' && url.pathname === '/user') return this.json(res, 200, { ...user, email: emails.find((entry) => entry.primary && entry.visibility === 'public')?.email ?? null });
    if (req.method === 'GET' && url.pathname === '/user/emails') return this.json(res, 200, emails);
    return this.json(res, 404, { message: 'Not Found' });
  }
}

export interface WechatPerson {
  openid: string;
  unionid?: string;
  nickname: string;
  headimgurl?: string;
}

export class WechatStub extends StubServer {
  readonly appId = 'wx0123456789abcdef';
  readonly appSecret = 'wechat-app-secret';
  private readonly people = new Map<string, WechatPerson>();
  private readonly codes = new Map<string, string>();
  private readonly tokens = new Map<string, string>();

  addPerson(person: Partial<WechatPerson> & { nickname: string }): WechatPerson {
    const full = { openid: `o${randomBytes(12).toString('base64url')}`, ...person };
    this.people.set(full.openid, full);
    return full;
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url!, this.origin);
    const q = url.searchParams;
    if (url.pathname === '/connect/qrconnect') {
      // https://developers.weixin.qq.com/doc/oplatform/Website_App/WeChat_Login/Wechat_Login.html
      if (q.get('appid') !== this.appId || q.get('scope') !== 'snsapi_login' || q.get('response_type') !== 'code' || !this.current) return this.json(res, 200, { errcode: 10016, errmsg: 'appid or scope invalid' });
      const code = randomBytes(12).toString('hex');
      this.codes.set(code, this.current);
      const back = new URL(q.get('redirect_uri')!);
      back.searchParams.set('code', code);
      back.searchParams.set('state', q.get('state') ?? '');
      res.writeHead(302, { Location: back.href }).end();
      return;
    }
    if (url.pathname === '/sns/oauth2/access_token') {
      if (q.get('appid') !== this.appId || q.get('secret') !== this.appSecret) return this.json(res, 200, { errcode: 40125, errmsg: 'invalid appsecret' });
      const openid = this.codes.get(q.get('code') ?? '');
      this.codes.delete(q.get('code') ?? '');
      if (!openid || q.get('grant_type') !== 'authorization_code') return this.json(res, 200, { errcode: 40029, errmsg: 'invalid code' });
      const token = randomBytes(16).toString('hex');
      this.tokens.set(token, openid);
      const person = this.people.get(openid)!;
      return this.json(res, 200, { access_token: token, expires_in: 7200, refresh_token: randomBytes(16).toString('hex'), openid, scope: 'snsapi_login', ...(person.unionid ? { unionid: person.unionid } : {}) });
    }
    if (url.pathname === '/sns/userinfo') {
      const openid = this.tokens.get(q.get('access_token') ?? '');
      if (!openid) return this.json(res, 200, { errcode: 40001, errmsg: 'invalid credential, access_token is invalid or not latest' });
      if (openid !== q.get('openid')) return this.json(res, 200, { errcode: 40003, errmsg: 'invalid openid' });
      const person = this.people.get(openid)!;
      return this.json(res, 200, { openid, nickname: person.nickname, sex: 0, province: '', city: '', country: 'CN', headimgurl: person.headimgurl ?? '', privilege: [], ...(person.unionid ? { unionid: person.unionid } : {}) });
    }
    return this.json(res, 200, { errcode: 40066, errmsg: 'invalid url' });
  }
}
