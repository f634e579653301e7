import { isIP } from 'node:net';
import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { FASTIFY_ROUTE_CONFIG_METADATA } from '@nestjs/platform-fastify/constants';
import type { FastifyRequest } from 'fastify';
import { SuccessMessageKey } from '../i18n';
import type { EnvelopeRouteConfig } from './success-envelope';

/**
 * Adds to the route's Fastify config (what hooks read as `request.routeOptions.config`). Unlike
 * @RouteConfig it merges, so several of these decorators can sit on one handler.
 */
export function MergeRouteConfig(config: Record<string, unknown>): MethodDecorator {
  return (_target, _key, descriptor) => {
    const handler = descriptor.value as object;
    Reflect.defineMetadata(FASTIFY_ROUTE_CONFIG_METADATA, { ...Reflect.getMetadata(FASTIFY_ROUTE_CONFIG_METADATA, handler), ...config }, handler);
    return descriptor;
  };
}

/** The `msg` of this route's success envelope. */
export const SuccessMessage = (key: SuccessMessageKey) => MergeRouteConfig({ successMessage: key } satisfies EnvelopeRouteConfig);

/** The route writes bytes (an image) or its own shape, so the success envelope leaves it alone. */
export const RawResponse = () => MergeRouteConfig({ rawResponse: true } satisfies EnvelopeRouteConfig);

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

/**
 * The raw Accept-Language header (pass it to pickLanguage). Unlike @Headers('accept-language'),
 * this adds nothing to the OpenAPI document: @Headers made Swagger declare a *required* header, so
 * generated clients refused to compile calls without one although the server defaults to English.
 */
export const AcceptLanguage = createParamDecorator((_: unknown, ctx: ExecutionContext): string | undefined => {
  const value = ctx.switchToHttp().getRequest<FastifyRequest>().headers['accept-language'];
  return typeof value === 'string' ? value : undefined;
});
