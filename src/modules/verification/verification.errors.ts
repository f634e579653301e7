import { HttpStatus } from '@nestjs/common';
import { defineErrors } from '@/common/errors';

export const VerificationErrors = defineErrors({
  CAPTCHA_REQUIRED: {
    status: HttpStatus.BAD_REQUEST,
    message: { en: 'Solve the captcha and send captchaId and captchaText', 'zh-CN': '请填写图形验证码' },
  },
  CAPTCHA_INVALID: {
    status: HttpStatus.BAD_REQUEST,
    message: { en: 'The captcha answer is wrong or expired; fetch a new one', 'zh-CN': '图形验证码错误或已过期，请重新获取' },
  },
});
