import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { pickLanguage, successMessages, SuccessMessageKey } from '../i18n';

/** What a route declares about its success answer (see @SuccessMessage and @RawResponse in decorators.ts). */
export interface EnvelopeRouteConfig {
  successMessage?: SuccessMessageKey;
  rawResponse?: boolean;
}

export interface SuccessEnvelope<T> {
  code: number;
  data: T | Record<string, never>;
  msg: string;
}

function envelopeOf(request: FastifyRequest, reply: FastifyReply, data: unknown): SuccessEnvelope<unknown> {
  const key = (request.routeOptions.config as EnvelopeRouteConfig).successMessage ?? 'ok';
  return { code: reply.statusCode, data: data ?? {}, msg: successMessages[key][pickLanguage(request.headers['accept-language'])] };
}

function wantsEnvelope(request: FastifyRequest, reply: FastifyReply): boolean {
  // Failures already carry the error envelope (AllExceptionsFilter); raw routes write bytes or their own shape.
  return reply.statusCode < 400 && !(request.routeOptions.config as EnvelopeRouteConfig | undefined)?.rawResponse;
}

/**
 * Wraps every JSON success in `{code, data, msg}`; `code` is the status Nest set (@HttpCode, or
 * 201 for POST). Done in Fastify's serialization hooks rather than a Nest interceptor: on Node 20
 * Nest runs every interceptor through two AsyncResource.bind calls per request, which cost
 * ~88 µs of CPU (2.7× a bare route) before the interceptor did anything. See docs/performance.md.
 */
export function registerSuccessEnvelope(fastify: FastifyInstance): void {
  fastify.addHook('preSerialization', (request, reply, payload, done) => {
    done(null, wantsEnvelope(request, reply) ? envelopeOf(request, reply, payload) : payload);
  });
  // A handler that returns nothing still answers an envelope, with `data: {}`.
  fastify.addHook('onSend', (request, reply, payload, done) => {
    if (payload !== undefined || reply.statusCode === 204 || !wantsEnvelope(request, reply)) return done(null, payload);
    void reply.type('application/json; charset=utf-8');
    done(null, JSON.stringify(envelopeOf(request, reply, undefined)));
  });
}
