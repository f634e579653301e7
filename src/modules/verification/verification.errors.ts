import { HttpStatus } from '@nestjs/common';
import { defineErrors } from '@/common/errors';

export const VerificationErrors = defineErrors({
  CODE_INVALID: {
    status: HttpStatus.BAD_REQUEST,
    message: { en: 'The verification code is wrong', 'zh-CN': '验证码错误' },
  },
  CODE_EXPIRED: {
    status: HttpStatus.BAD_REQUEST,
    message: { en: 'The verification code has expired, was used, or was never requested; request a new one', 'zh-CN': '验证码已过期、已使用或未发送，请重新获取' },
  },
  PHONE_NOT_ALLOWED: {
    status: HttpStatus.BAD_REQUEST,
    message: { en: 'Text messages cannot be sent to this country', 'zh-CN': '不支持向该国家或地区发送短信' },
  },
  DELIVERY_FAILED: {
    status: HttpStatus.BAD_GATEWAY,
    message: { en: 'The message could not be delivered; try again later', 'zh-CN': '消息发送失败，请稍后重试' },
  },
});
