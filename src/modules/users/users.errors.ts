import { HttpStatus } from '@nestjs/common';
import { defineErrors } from '@/common/errors';

export const UsersErrors = defineErrors({
  USERNAME_TAKEN: { status: HttpStatus.CONFLICT, message: { en: 'Username is already taken', 'zh-CN': '用户名已被占用' } },
  EMAIL_TAKEN: { status: HttpStatus.CONFLICT, message: { en: 'Email is already registered', 'zh-CN': '邮箱已被注册' } },
  PHONE_TAKEN: { status: HttpStatus.CONFLICT, message: { en: 'Phone number is already registered', 'zh-CN': '手机号已被注册' } },
  USER_NOT_FOUND: { status: HttpStatus.NOT_FOUND, message: { en: 'User not found', 'zh-CN': '用户不存在' } },
  REGISTRATION_DISABLED: { status: HttpStatus.FORBIDDEN, message: { en: 'Registration is closed', 'zh-CN': '注册已关闭' } },
  REGISTRATION_KEY_INVALID: { status: HttpStatus.FORBIDDEN, message: { en: 'The registration key is not valid', 'zh-CN': '注册密钥无效' } },
  USERNAME_INVALID: {
    status: HttpStatus.BAD_REQUEST,
    message: {
      en: 'Username must be 5-32 letters, digits, "_", "." or "-" in one script, without invisible characters',
      'zh-CN': '用户名须为 5-32 位同一种文字的字母、数字、"_"、"." 或 "-"，且不能包含不可见字符',
    },
  },
  PASSWORD_TOO_SHORT: { status: HttpStatus.BAD_REQUEST, message: { en: 'Password is too short', 'zh-CN': '密码太短' } },
  PASSWORD_TOO_LONG: { status: HttpStatus.BAD_REQUEST, message: { en: 'Password is too long', 'zh-CN': '密码太长' } },
  PASSWORD_INVALID_CHARACTERS: {
    status: HttpStatus.BAD_REQUEST,
    message: { en: 'Password contains control characters', 'zh-CN': '密码包含控制字符' },
  },
  PASSWORD_TOO_COMMON: {
    status: HttpStatus.BAD_REQUEST,
    message: { en: 'Password is one of the most commonly used passwords', 'zh-CN': '密码过于常见' },
  },
  PASSWORD_CONTAINS_IDENTITY: {
    status: HttpStatus.BAD_REQUEST,
    message: { en: 'Password must not contain your username or email name', 'zh-CN': '密码不能包含用户名或邮箱名' },
  },
  PASSWORD_UNCHANGED: {
    status: HttpStatus.BAD_REQUEST,
    message: { en: 'The new password must differ from the current one', 'zh-CN': '新密码不能与当前密码相同' },
  },
  PASSWORD_INCORRECT: {
    status: HttpStatus.BAD_REQUEST,
    message: { en: 'The current password is not correct', 'zh-CN': '当前密码不正确' },
  },
  LAST_ADMIN: {
    status: HttpStatus.CONFLICT,
    message: { en: 'The last active admin cannot be demoted or disabled', 'zh-CN': '不能降级或禁用最后一个有效管理员' },
  },
});
