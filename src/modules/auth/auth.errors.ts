import { HttpStatus } from '@nestjs/common';
import { defineErrors } from '@/common/errors';

export const AuthErrors = defineErrors({
  INVALID_CREDENTIALS: {
    status: HttpStatus.UNAUTHORIZED,
    message: { en: 'The identifier or password is not correct', 'zh-CN': '账号或密码错误' },
  },
  REFRESH_TOKEN_INVALID: {
    status: HttpStatus.UNAUTHORIZED,
    message: { en: 'The refresh token is not valid; sign in again', 'zh-CN': '刷新令牌无效，请重新登录' },
  },
  API_KEY_INVALID: {
    status: HttpStatus.UNAUTHORIZED,
    message: { en: 'The API key is not valid', 'zh-CN': 'API 密钥无效' },
  },
  SESSION_NOT_FOUND: {
    status: HttpStatus.NOT_FOUND,
    message: { en: 'Session not found', 'zh-CN': '会话不存在' },
  },
  SESSION_REQUIRED: {
    status: HttpStatus.FORBIDDEN,
    message: { en: 'This route needs a bearer token from a sign-in, not an API key', 'zh-CN': '此操作需要登录令牌，不能使用 API 密钥' },
  },
  RECENT_AUTH_REQUIRED: {
    status: HttpStatus.FORBIDDEN,
    message: { en: 'Sign in again (or give your current password) to do this', 'zh-CN': '请重新登录或提供当前密码后再操作' },
  },
  // REFRESH_TOKEN_COOKIE: a request that carries the refresh cookie must come from the SPA itself.
  COOKIE_ORIGIN_NOT_ALLOWED: {
    status: HttpStatus.FORBIDDEN,
    message: { en: 'This request carries the session cookie but its Origin is not an allowed origin', 'zh-CN': '携带会话 Cookie 的请求来源（Origin）不在允许列表中' },
  },
  COOKIE_REQUESTED_WITH_REQUIRED: {
    status: HttpStatus.FORBIDDEN,
    message: { en: 'A request that carries the session cookie must send X-Requested-With: XMLHttpRequest', 'zh-CN': '携带会话 Cookie 的请求必须带有 X-Requested-With: XMLHttpRequest 请求头' },
  },
  PASSWORD_RESET_DISABLED: {
    status: HttpStatus.FORBIDDEN,
    message: { en: 'Password reset is turned off', 'zh-CN': '密码重置功能已关闭' },
  },
});
