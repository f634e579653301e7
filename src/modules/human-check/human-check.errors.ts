import { HttpStatus } from '@nestjs/common';
import { defineErrors } from '@/common/errors';

/** One pair of codes for every kind of human check (image, proof of work, external provider), so clients handle them alike. */
export const HumanCheckErrors = defineErrors({
  CAPTCHA_REQUIRED: {
    status: HttpStatus.BAD_REQUEST,
    message: { en: 'Complete the human check (captcha) and send its answer', 'zh-CN': '请完成人机验证（图形验证码）' },
  },
  CAPTCHA_INVALID: {
    status: HttpStatus.BAD_REQUEST,
    message: { en: 'The human check (captcha) answer is wrong, used or expired; get a new one', 'zh-CN': '人机验证（图形验证码）错误、已使用或已过期，请重新获取' },
  },
});
