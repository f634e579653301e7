import type { WechatProviderConfig } from '@/config/app-config';
import { AuthorizationRequest, ConfiguredProvider, ProviderFailure, ProviderProfile } from './identity-provider';
import { providerJson, stringOr } from './oauth2-http';

/**
 * WeChat website sign-in (微信开放平台 网站应用, scope snsapi_login): a QR code page (`qrconnect`), then
 * `sns/oauth2/access_token` and `sns/userinfo`. WeChat answers errors as HTTP 200 with `errcode`.
 * The person is the `unionid` when the app is bound to an Open Platform account (stable across the
 * operator's apps), else the app's `openid`. WeChat gives no email, and has no PKCE or nonce: the
 * single-use `state` carries the protection.
 */
export class WechatProvider extends ConfiguredProvider<WechatProviderConfig> {
  readonly kind = 'wechat' as const;

  async authorizationUrl(request: AuthorizationRequest): Promise<string> {
    const url = new URL(this.settings.authorizeUrl);
    url.search = new URLSearchParams({ appid: this.settings.clientId, redirect_uri: request.callbackUrl, response_type: 'code', scope: 'snsapi_login', state: request.state }).toString();
    url.hash = 'wechat_redirect';
    return url.href;
  }

  async complete(callback: URL): Promise<ProviderProfile> {
    const code = callback.searchParams.get('code');
    if (!code) throw new ProviderFailure('no code in the callback');
    const tokenUrl = new URL(`${this.settings.apiUrl}/sns/oauth2/access_token`);
    tokenUrl.search = new URLSearchParams({ appid: this.settings.clientId, secret: this.settings.clientSecret, code, grant_type: 'authorization_code' }).toString();
    const token = this.checked(await providerJson(tokenUrl.href), 'access_token');
    if (typeof token.access_token !== 'string' || typeof token.openid !== 'string') throw new ProviderFailure('access_token answer without access_token or openid');
    const infoUrl = new URL(`${this.settings.apiUrl}/sns/userinfo`);
    infoUrl.search = new URLSearchParams({ access_token: token.access_token, openid: token.openid, lang: 'zh_CN' }).toString();
    const info = this.checked(await providerJson(infoUrl.href), 'userinfo');
    if (info.openid !== token.openid) throw new ProviderFailure('userinfo is about another openid');
    return {
      subject: stringOr(info.unionid) ?? stringOr(token.unionid) ?? token.openid,
      email: null,
      emailVerified: false,
      displayName: stringOr(info.nickname),
      avatarUrl: stringOr(info.headimgurl),
    };
  }

  /** WeChat's error shape: HTTP 200 with a non-zero `errcode` (and `errmsg`). */
  private checked(answer: Record<string, unknown> | unknown[], step: string): Record<string, unknown> {
    if (Array.isArray(answer)) throw new ProviderFailure(`${step} answered a list`);
    if (answer.errcode !== undefined && answer.errcode !== 0) throw new ProviderFailure(`${step} refused: errcode ${String(answer.errcode)} ${stringOr(answer.errmsg, '')}`);
    return answer;
  }
}
