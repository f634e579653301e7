import { HttpStatus } from '@nestjs/common';
import { defineErrors } from '@/common/errors';

export const RealNameErrors = defineErrors({
  REAL_NAME_INVALID: {
    status: HttpStatus.BAD_REQUEST,
    message: {
      en: 'The name must be 2-30 Chinese characters (with "·" between parts) or Latin letters (with spaces or dots)',
      'zh-CN': '姓名须为 2-30 个汉字（可用“·”分隔）或拉丁字母（可含空格或点）',
    },
  },
  ID_CARD_INVALID: {
    status: HttpStatus.BAD_REQUEST,
    message: { en: 'The ID card number is not a valid 18-digit resident ID number', 'zh-CN': '身份证号码不是有效的 18 位居民身份证号码' },
  },
  REAL_NAME_NOT_SUBMITTED: {
    status: HttpStatus.NOT_FOUND,
    message: { en: 'No real-name information has been submitted', 'zh-CN': '尚未提交实名信息' },
  },
  ID_CARD_ALREADY_BOUND: {
    status: HttpStatus.CONFLICT,
    message: { en: 'This ID card number is already bound to another account', 'zh-CN': '该身份证号码已绑定其他账号' },
  },
  REAL_NAME_ALREADY_VERIFIED: {
    status: HttpStatus.CONFLICT,
    message: { en: 'Your real name is already verified and cannot be changed', 'zh-CN': '实名认证已通过，不能修改' },
  },
  REAL_NAME_PROVIDER_UNAVAILABLE: {
    status: HttpStatus.BAD_GATEWAY,
    message: { en: 'The identity check service did not answer; nothing was saved, try again later', 'zh-CN': '实名核验服务暂不可用，信息未保存，请稍后重试' },
  },
});
