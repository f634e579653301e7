import { HttpStatus } from '@nestjs/common';
import { defineErrors } from '@/common/errors';

export const AccountErrors = defineErrors({
  API_KEY_SCOPE: {
    status: HttpStatus.FORBIDDEN,
    message: {
      en: 'This API key may not do this: its scopes do not include it (a personal key never reaches security routes; sign in instead)',
      'zh-CN': '此 API 密钥的权限范围不包含该操作（个人密钥不能用于安全相关操作，请登录后再试）',
    },
  },
  API_KEY_NOT_FOUND: {
    status: HttpStatus.NOT_FOUND,
    message: { en: 'API key not found', 'zh-CN': 'API 密钥不存在' },
  },
  API_KEY_LIMIT_REACHED: {
    status: HttpStatus.CONFLICT,
    message: { en: 'This account has as many API keys as it may hold; delete one first', 'zh-CN': 'API 密钥数量已达上限，请先删除一个' },
  },
  EMAIL_NOT_VERIFIED: {
    status: HttpStatus.FORBIDDEN,
    message: {
      en: 'Verify your email address first (POST /users/me/email/verification-code): until then no other sign-in method can be added',
      'zh-CN': '请先验证邮箱（POST /users/me/email/verification-code），验证前不能添加其他登录方式',
    },
  },
  EMAIL_VERIFICATION_NOT_NEEDED: {
    status: HttpStatus.CONFLICT,
    message: { en: 'This account has no unverified email address', 'zh-CN': '此账号没有待验证的邮箱' },
  },
});
