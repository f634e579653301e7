import { isIP } from 'node:net';
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

/**
 * The caller's address. Behind a trusted proxy Fastify takes it from X-Forwarded-For without
 * checking that it is an address, so a forged entry ("<script>", 100 characters) would become the
 * "IP" of audit events, sessions and rate-limit buckets; anything but an IP counts as the hop
 * that sent it.
 */
export function clientIp(request: Pick<FastifyRequest, 'ip' | 'socket'>): string {
  return isIP(request.ip) ? request.ip : (request.socket?.remoteAddress ?? 'unknown');
}

export function clientInfoOf(request: FastifyRequest): ClientInfo {
  const userAgent = request.headers['user-agent'];
  return {
    ip: clientIp(request),
    userAgent: typeof userAgent === 'string' ? userAgent.slice(0, 255) : null,
    requestId: String(request.id),
  };
}

/** Who is calling from where: the IP (proxy-aware, see TRUSTED_PROXIES) and user agent. */
export const Client = createParamDecorator((_: unknown, ctx: ExecutionContext): ClientInfo =>
  clientInfoOf(ctx.switchToHttp().getRequest<FastifyRequest>()),
);
