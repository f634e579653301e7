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
