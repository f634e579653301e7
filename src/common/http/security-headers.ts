import helmet, { HelmetOptions } from 'helmet';
import type { FastifyInstance } from 'fastify';

/** The security headers every answer carries (helmet's defaults with our CSP, framing and referrer policy). */
export const SECURITY_HEADER_OPTIONS: HelmetOptions = {
  contentSecurityPolicy: {
    directives: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'", "'unsafe-inline'"],
      imgSrc: ["'self'", 'data:'],
      frameAncestors: ["'none'"],
    },
  },
  frameguard: { action: 'deny' },
  referrerPolicy: { policy: 'no-referrer' },
  hsts: { maxAge: 31536000, includeSubDomains: true },
};

/**
 * Runs helmet once, at start-up, against a recording response and returns the headers it set.
 * Our headers do not depend on the request (no CSP nonces), so computing them per request — which
 * @fastify/helmet does, rebuilding helmet's middleware each time — was pure cost on every answer
 * (profiled at about 8% of GET /users/me).
 */
export function computeSecurityHeaders(options: HelmetOptions = SECURITY_HEADER_OPTIONS): Record<string, string> {
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader: (name: string, value: string | number | string[]) => {
      headers[name] = Array.isArray(value) ? value.join(', ') : String(value);
    },
    removeHeader: (name: string) => {
      delete headers[name];
    },
    getHeader: (name: string) => headers[name],
  };
  helmet(options)({} as never, recorder as never, () => undefined);
  // Contract §10: no answer that carries a token, key, code or personal data may be stored by a
  // browser or proxy. Nearly every answer does, so no-store is the default for all of them (errors
  // included); a route that deliberately serves public, cacheable bytes (the JWKS, avatar images)
  // sets its own Cache-Control, which replaces this one.
  headers['Cache-Control'] = 'no-store';
  return headers;
}

/**
 * The same headers for a request that came over plain http: without the CSP's
 * `upgrade-insecure-requests`. Over http from any origin but localhost, that directive makes the
 * browser fetch /docs's own scripts and styles as https://…, which a plain-http server cannot
 * answer, so Swagger UI stayed blank. Over https it stays (no mixed content).
 */
export function computePlainHttpSecurityHeaders(options: HelmetOptions = SECURITY_HEADER_OPTIONS): Record<string, string> {
  const csp = options.contentSecurityPolicy as { directives: Record<string, unknown> };
  return computeSecurityHeaders({ ...options, contentSecurityPolicy: { ...csp, directives: { ...csp.directives, upgradeInsecureRequests: null } } });
}

/**
 * Every answer carries the security headers (no-store included) and its request id (X-Request-Id, as given or
 * generated). `request.protocol` is https for a TLS socket, or as a trusted proxy's
 * X-Forwarded-Proto says (TRUSTED_PROXIES); from anyone else that header is ignored.
 */
export function registerSecurityHeaders(fastify: FastifyInstance, https = computeSecurityHeaders(), http = computePlainHttpSecurityHeaders()): void {
  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.headers(request.protocol === 'https' ? https : http).header('X-Request-Id', String(request.id));
    done();
  });
}
