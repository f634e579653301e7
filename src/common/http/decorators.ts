import { SetMetadata, createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { SuccessMessageKey } from '../i18n';

export const SUCCESS_MESSAGE = 'uc:success-message';
export const RAW_RESPONSE = 'uc:raw-response';

/** The `msg` of this route's success envelope. */
export const SuccessMessage = (key: SuccessMessageKey) => SetMetadata(SUCCESS_MESSAGE, key);

/** The route writes bytes (an image), so the envelope interceptor leaves it alone. */
export const RawResponse = () => SetMetadata(RAW_RESPONSE, true);

export interface ClientInfo {
  ip: string;
  userAgent: string | null;
  requestId: string;
}

export function clientInfoOf(request: FastifyRequest): ClientInfo {
  const userAgent = request.headers['user-agent'];
  return {
    ip: request.ip,
    userAgent: typeof userAgent === 'string' ? userAgent.slice(0, 255) : null,
    requestId: String(request.id),
  };
}

/** Who is calling from where: the IP (proxy-aware, see TRUSTED_PROXIES) and user agent. */
export const Client = createParamDecorator((_: unknown, ctx: ExecutionContext): ClientInfo =>
  clientInfoOf(ctx.switchToHttp().getRequest<FastifyRequest>()),
);
