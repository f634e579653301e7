import { HttpStatus } from '@nestjs/common';
import { defineErrors } from '@/common/errors';

export const WebhooksErrors = defineErrors({
  WEBHOOK_NOT_FOUND: {
    status: HttpStatus.NOT_FOUND,
    message: { en: 'No such webhook endpoint', 'zh-CN': 'Webhook 端点不存在' },
  },
  WEBHOOK_DELIVERY_NOT_FOUND: {
    status: HttpStatus.NOT_FOUND,
    message: { en: 'No such webhook delivery', 'zh-CN': 'Webhook 投递记录不存在' },
  },
  WEBHOOK_URL_INVALID: {
    status: HttpStatus.BAD_REQUEST,
    message: {
      en: 'The webhook URL must be an absolute http or https URL without a user name or password',
      'zh-CN': 'Webhook 地址必须是不含用户名和密码的完整 http 或 https 地址',
    },
  },
  WEBHOOK_TARGET_NOT_ALLOWED: {
    status: HttpStatus.BAD_REQUEST,
    message: {
      en: 'The webhook URL points at a loopback, private, link-local or metadata address (WEBHOOK_ALLOW_PRIVATE_TARGETS=true admits them)',
      'zh-CN': 'Webhook 地址指向回环、内网、链路本地或元数据地址（设置 WEBHOOK_ALLOW_PRIVATE_TARGETS=true 后才允许）',
    },
  },
  WEBHOOK_DISABLED: {
    status: HttpStatus.CONFLICT,
    message: { en: 'The webhook endpoint is disabled; enable it first', 'zh-CN': 'Webhook 端点已停用，请先启用' },
  },
  WEBHOOK_LIMIT_REACHED: {
    status: HttpStatus.CONFLICT,
    message: {
      en: 'There are as many webhook endpoints as WEBHOOK_MAX_ENDPOINTS allows (disabled ones count); delete one first',
      'zh-CN': 'Webhook 端点数量已达 WEBHOOK_MAX_ENDPOINTS 上限（已停用的也计入），请先删除一个',
    },
  },
});
