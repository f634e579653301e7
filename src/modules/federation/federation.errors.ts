import { HttpStatus } from '@nestjs/common';
import { defineErrors } from '@/common/errors';

export const FederationErrors = defineErrors({
  OAUTH_PROVIDER_UNKNOWN: {
    status: HttpStatus.NOT_FOUND,
    message: { en: 'No identity provider by that name is enabled', 'zh-CN': '该第三方登录方式未启用' },
  },
  OAUTH_STATE_INVALID: {
    status: HttpStatus.BAD_REQUEST,
    message: { en: 'The sign-in attempt is unknown, used or expired; start again', 'zh-CN': '第三方登录请求无效、已使用或已过期，请重新开始' },
  },
  OAUTH_PROVIDER_ERROR: {
    status: HttpStatus.BAD_GATEWAY,
    message: { en: 'The identity provider did not confirm the sign-in', 'zh-CN': '第三方登录服务未能完成验证' },
  },
  REDIRECT_URI_NOT_ALLOWED: {
    status: HttpStatus.BAD_REQUEST,
    message: { en: 'That redirectUri is not on the allow-list', 'zh-CN': '该回跳地址不在允许列表中' },
  },
  ACCOUNT_EXISTS_LINK_REQUIRED: {
    status: HttpStatus.CONFLICT,
    message: { en: 'An account with this email exists: sign in to it, then link this provider from your profile', 'zh-CN': '该邮箱已有账号：请先用原方式登录，再在个人资料中绑定' },
  },
  IDENTITY_ALREADY_LINKED: {
    status: HttpStatus.CONFLICT,
    message: { en: 'This identity is linked to another account, or this account already has one from that provider', 'zh-CN': '该第三方账号已绑定其他账号，或本账号已绑定该平台的其他账号' },
  },
  IDENTITY_NOT_FOUND: {
    status: HttpStatus.NOT_FOUND,
    message: { en: 'No identity from that provider is linked to your account', 'zh-CN': '您的账号未绑定该第三方账号' },
  },
  LAST_SIGN_IN_METHOD: {
    status: HttpStatus.CONFLICT,
    message: { en: 'This is the only way left to sign in to your account; add a password or another sign-in first', 'zh-CN': '这是您账号唯一的登录方式，请先设置密码或绑定其他登录方式' },
  },
});
