import { HttpStatus } from '@nestjs/common';
import { defineErrors } from '@/common/errors';

export const AdminErrors = defineErrors({
  REVOKE_BEFORE_IN_FUTURE: {
    status: HttpStatus.BAD_REQUEST,
    message: {
      en: '"before" must not be in the future; leave it out to sign out every session started until now',
      'zh-CN': '“before” 不能晚于当前时间；不填则注销此刻之前开始的所有会话',
    },
  },
});
