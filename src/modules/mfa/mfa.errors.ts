import { HttpStatus } from '@nestjs/common';
import { defineErrors } from '@/common/errors';

export const MfaErrors = defineErrors({
  MFA_INVALID: {
    status: HttpStatus.BAD_REQUEST,
    message: { en: 'The second-factor answer is wrong', 'zh-CN': '二次验证码错误' },
  },
  MFA_TOKEN_INVALID: {
    status: HttpStatus.UNAUTHORIZED,
    message: { en: 'The MFA token is not valid (expired, used or out of tries); sign in again', 'zh-CN': '二次验证令牌无效（已过期、已使用或尝试次数用尽），请重新登录' },
  },
  MFA_NOT_ENROLLED: {
    status: HttpStatus.FORBIDDEN,
    message: { en: 'Set up that second factor first', 'zh-CN': '请先设置该二次验证方式' },
  },
  MFA_ALREADY_ENABLED: {
    status: HttpStatus.CONFLICT,
    message: { en: 'This second factor is already set up', 'zh-CN': '该二次验证方式已启用' },
  },
  PASSKEY_INVALID: {
    status: HttpStatus.BAD_REQUEST,
    message: { en: 'The passkey answer is not valid', 'zh-CN': '通行密钥验证失败' },
  },
  PASSKEY_LIMIT_REACHED: {
    status: HttpStatus.CONFLICT,
    message: { en: 'This account has as many passkeys as it may hold; remove one first', 'zh-CN': '通行密钥数量已达上限，请先删除一个' },
  },
  PASSKEY_NOT_FOUND: {
    status: HttpStatus.NOT_FOUND,
    message: { en: 'No such passkey on your account', 'zh-CN': '您的账号没有这个通行密钥' },
  },
});
