import { randomUUID } from 'node:crypto';
import { RequestMethod } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { LogController, type FastifyError, type FastifyReply, type FastifyRequest } from 'fastify';
import { AppModule, AppOverrides } from './app.module';
import { AppConfig } from './config/app-config';
import { allErrors } from './common/errors';
import { AppLogger, createLogDestination, createRootLogger, REQUEST_REDACT_PATHS } from './common/logging/app-logger';
import { clientErrorResponse, sendError } from './common/http/error-response';
import { registerBoundedJsonParser } from './common/http/body-complexity';
import { registerSecurityHeaders } from './common/http/security-headers';
import { registerSuccessEnvelope } from './common/http/success-envelope';
import { registerMultipart } from './modules/avatar/avatar-upload';
import { REFRESH_COOKIE_NAME, registerRefreshCookie } from './modules/auth/refresh-cookie';
import { MetricsService } from './modules/operations/metrics.service';
import { registerRequestObservers } from './modules/operations/request-observer';

export const API_PREFIX = 'api/v1';

function requestIdOf(request: { headers: Record<string, unknown> }): string {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && /^[\w.-]{1,64}$/.test(given) ? given : randomUUID();
}

export function buildOpenApiDocument(app: NestFastifyApplication) {
  const config = new DocumentBuilder()
    .setTitle('User Centre API')
    .setVersion('1.0.0')
    .setDescription(
      [
        'Accounts, sign-in, tokens, verification codes, real-name checks and avatars.',
        '',
        'Every JSON answer is an envelope: `{code, data, msg}` on success and `{code, msg, error, requestId, details?}` on failure; `code` always equals the HTTP status and `msg` follows `Accept-Language` (`en`, `zh-CN`). Binary answers (captcha image, avatar bytes) and the ALTCHA challenge (`GET /verification/challenge`, read by the widget as it is) are not wrapped. Program against `error`, a stable code: each operation lists the codes it can answer, and the `ErrorEnvelopeDto` schema (under Schemas, at the end of this page) lists them all.',
        '',
        'Every answer carries `Cache-Control: no-store` (tokens, keys, codes and personal data must never be cached), except the deliberately public ones: the JWKS (`public, max-age=…`) and avatar images (`public, max-age=31536000, immutable`).',
        '',
        'Limits per client address (429 `TOO_MANY_REQUESTS` with `Retry-After`: the general rate limit, sign-in, sign-up, code requests, pending captchas) count an IPv4 client by its address and an IPv6 client by its /64: every address of one /64 shares one budget.',
        '',
        AUTHENTICATION_GUIDE,
      ].join('\n'),
    )
    .addServer('/', 'This server')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'An access token from /auth/login, sent as `Authorization: Bearer <token>`. Use this or the personal key on a request, not both (when both are sent, the bearer token is used and the key ignored).' }, 'bearer')
    .addApiKey({ type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'A personal key from POST /users/me/api-keys: acts as its user only on the routes that list this scheme (GET /users/me with scope profile:read; PATCH /users/me and the avatar upload with profile:write); every other route answers 403 API_KEY_SCOPE. Use this or a bearer token on a request, not both.' }, 'personal-api-key')
    .addApiKey({ type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'A service key from INTERNAL_API_KEYS (internal routes only). Each internal route names the scope it needs (introspect, users:read); a key configured with a scope list reaches only those routes (403 API_KEY_SCOPE elsewhere), a key listed without scopes reaches all of them.' }, 'internal-api-key')
    .addApiKey(
      {
        type: 'apiKey',
        in: 'cookie',
        name: REFRESH_COOKIE_NAME,
        description:
          'Only with REFRESH_TOKEN_COOKIE=true: every answer with a token pair sets the refresh token as this cookie (`HttpOnly; Secure; SameSite=Strict; Path=/api/v1/auth`, Max-Age = what is left of the session) and leaves it out of the JSON; POST /auth/refresh and DELETE /auth/session read it. Its name has the `__Secure-` prefix because `__Host-` requires `Path=/`. A request carrying it must come from an origin in CORS_ORIGINS with `X-Requested-With: XMLHttpRequest` (else 403 `COOKIE_ORIGIN_NOT_ALLOWED` / `COOKIE_REQUESTED_WITH_REQUIRED`). Browsers send it by themselves (`fetch(url, {credentials: "include"})`); page scripts cannot read it.',
      },
      'refresh-cookie',
    )
    .build();
  const document = SwaggerModule.createDocument(app, config, {
    operationIdFactory: (_controller, method) => method,
  });
  documentGenericFailures(document);
  documentErrorCatalog(document);
  leaveOptionalFiltersEmpty(document);
  return document;
}

/**
 * How a client authenticates. The routes open to keys list two alternative security requirements
 * (`[{bearer: []}, {"personal-api-key": []}]`: either one satisfies the route); a generated
 * client's auth hook should answer for the one scheme it uses, so it sends one header, not both.
 */
const AUTHENTICATION_GUIDE = [
  '## Authentication',
  '- **Browsers and apps** sign in (`POST /api/v1/auth/login`) and send `Authorization: Bearer <accessToken>`; refresh with `POST /api/v1/auth/refresh` before `expiresAt`.',
  '- **SPAs, when the server runs with `REFRESH_TOKEN_COOKIE=true`**, never see the refresh token: it is the HttpOnly `__Secure-uc_refresh` cookie (the `refresh-cookie` scheme). Call the `/api/v1/auth` routes with `credentials: \'include\'` and `X-Requested-With: XMLHttpRequest` from an origin in CORS_ORIGINS.',
  '- **Scripts acting as one user** send a personal key (`POST /api/v1/users/me/api-keys`: named, scoped, expiring) as `X-API-Key`, on the profile routes that list the `personal-api-key` scheme only (403 `API_KEY_SCOPE` elsewhere).',
  '- **Internal services** send a key from `INTERNAL_API_KEYS` as `X-API-Key`, on internal routes only.',
  '',
  'Routes open to keys accept the bearer token **or** the personal key (two alternative security requirements): send one of them; every other signed-in route takes the bearer token only. A generated client should supply only the scheme it uses, e.g. with `@hey-api/client-fetch`: `auth: (security) => (security.scheme === \'bearer\' ? accessToken : undefined)`; with openapi-fetch, set the one header in a middleware. When a request carries both, the bearer token decides and the key is ignored.',
].join('\n');

/**
 * The catalog of error codes sits on the error envelope's schema (at the end of Swagger UI's
 * page), not in the document's description, where its ~100 rows pushed the first operation
 * 2,500 px down.
 */
function documentErrorCatalog(document: OpenApiDocument): void {
  const envelope = document.components?.schemas?.ErrorEnvelopeDto as { description?: string; properties?: { error?: { enum?: string[] } } } | undefined;
  if (!envelope) return;
  const rows = allErrors().map((entry) => `| \`${entry.code}\` | ${entry.status} | ${entry.message.en} |`);
  envelope.description = ['The body of every failure. `error` is one of these codes:', '', '| error | status | meaning |', '|---|---|---|', ...rows].join('\n');
  // The envelope's `error` lists the whole catalog, as registered once every module has loaded.
  if (envelope.properties?.error) envelope.properties.error.enum = allErrors().map((entry) => entry.code);
}

/**
 * Swagger UI's "Try it out" fills each parameter with its example, so the admin list's optional
 * filters started as `q=ali&role=normal_user&status=active` and silently hid most accounts. An
 * optional query parameter keeps its example in the description only; its default (the server's
 * own behaviour) stays.
 */
function leaveOptionalFiltersEmpty(document: OpenApiDocument): void {
  for (const methods of Object.values(document.paths)) {
    for (const operation of Object.values(methods) as { parameters?: { in?: string; required?: boolean; description?: string; example?: unknown; schema?: { example?: unknown } }[] }[]) {
      for (const parameter of operation?.parameters ?? []) {
        if (parameter.in !== 'query' || parameter.required) continue;
        const example = parameter.example ?? parameter.schema?.example;
        if (example === undefined) continue;
        delete parameter.example;
        if (parameter.schema) delete parameter.schema.example;
        parameter.description = `${parameter.description ?? ''} (e.g. \`${String(example)}\`)`.trim();
      }
    }
  }
}

type OpenApiDocument = ReturnType<typeof SwaggerModule.createDocument>;

/**
 * Failures any operation can give, documented once instead of on every route: the global rate
 * limit, a dependency that is down and an unexpected error everywhere; body problems (bad JSON,
 * unknown fields, wrong content type, too large) wherever a body is accepted.
 */
function documentGenericFailures(document: OpenApiDocument): void {
  const errorResponse = (status: number, codes: string[], description: string) => ({
    description: `${description} (${codes.map((code) => `\`${code}\``).join(', ')})`,
    content: {
      'application/json': {
        schema: {
          allOf: [
            { $ref: '#/components/schemas/ErrorEnvelopeDto' },
            { type: 'object', properties: { code: { type: 'integer', enum: [status] }, error: { type: 'string', enum: codes } } },
          ],
        },
      },
    },
  });
  for (const methods of Object.values(document.paths)) {
    for (const operation of Object.values(methods) as { responses?: Record<string, unknown>; requestBody?: unknown }[]) {
      if (!operation?.responses) continue;
      const add = (status: number, codes: string[], description: string) => {
        const existing = operation.responses![String(status)] as ReturnType<typeof errorResponse> | undefined;
        if (!existing) {
          operation.responses![String(status)] = errorResponse(status, codes, description);
          return;
        }
        // Widen an already documented status with the generic codes it can also carry.
        const enumOf = (existing.content?.['application/json']?.schema?.allOf?.[1] as { properties?: { error?: { enum?: string[] } } } | undefined)?.properties?.error;
        if (enumOf?.enum) enumOf.enum = [...new Set([...enumOf.enum, ...codes])];
      };
      // MFA_REQUIRED_ROLES: a token of an account that must still enrol works only on the enrolment routes.
      const signedIn = (operation as { security?: Record<string, unknown>[] }).security?.some((scheme) => 'bearer' in scheme);
      if (signedIn) add(403, ['MFA_NOT_ENROLLED'], 'Set up a second factor first (MFA_REQUIRED_ROLES)');
      add(429, ['TOO_MANY_REQUESTS'], 'Too many requests; see Retry-After');
      add(500, ['INTERNAL_ERROR'], 'Unexpected error; quote the requestId');
      add(503, ['SERVICE_UNAVAILABLE'], 'A dependency (database, Redis) is unavailable; see Retry-After');
      // Any request may carry a body, even where none is expected: it is parsed (and refused) first.
      add(400, ['VALIDATION_FAILED', 'MALFORMED_JSON', 'PAYLOAD_TOO_COMPLEX'], 'The request is not valid (a JSON body may hold at most 1,000 keys and array items in all, nested at most 32 levels deep; validation `details` list at most 20 problems)');
      add(413, ['PAYLOAD_TOO_LARGE'], 'The body is too large');
      add(415, ['UNSUPPORTED_MEDIA_TYPE'], 'Wrong content type');
      add(414, ['URI_TOO_LONG'], 'The URL is too long');
    }
  }
}

/** Builds the whole application (HTTP adapter, security headers, envelope, docs); main.ts and the tests share it. */
export async function createApp(config: AppConfig, overrides: AppOverrides = {}): Promise<NestFastifyApplication> {
  const json = config.operations.logFormat === 'json';
  const logDestination = overrides.logDestination ?? createLogDestination(json);
  const rootLogger = createRootLogger(config.logLevel, logDestination);
  const adapter = new FastifyAdapter({
    // Fastify gives each request a child of this logger bound to its request id (request.log);
    // the access line is written through it (request-observer.ts), Fastify's own lines are off.
    loggerInstance: createRootLogger(config.logLevel, logDestination, REQUEST_REDACT_PATHS),
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'requestId' }),
    bodyLimit: config.http.bodyLimitBytes,
    trustProxy: config.http.trustedProxies.length ? config.http.trustedProxies : false,
    genReqId: requestIdOf,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    return503OnClosing: true,
    // Router-level failures (bad URL encoding, over-long path parameters) never reach Nest.
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => sendError(error, request, reply),
    clientErrorHandler: (error: { code?: string }, socket: import('node:net').Socket) => {
      if (socket.writable) socket.end(clientErrorResponse(error));
      else socket.destroy();
    },
  });
  const logger = new AppLogger(rootLogger);
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config, overrides), adapter, {
    logger,
    bufferLogs: false,
    // JSON only: no form-body parser, and Fastify's built-in text/plain parser goes too (415 instead).
    bodyParser: false,
  });
  const fastify = app.getHttpAdapter().getInstance();
  fastify.removeContentTypeParser('text/plain');
  registerBoundedJsonParser(fastify as unknown as import('fastify').FastifyInstance);
  // multipart/form-data for the avatar upload only; every other route still answers it with 415.
  await registerMultipart(app, config);
  registerRequestObservers(fastify, app.get(MetricsService), json);

  registerSecurityHeaders(fastify as unknown as Parameters<typeof registerSecurityHeaders>[0]);
  // Before the envelope: a token pair leaves its refresh token in the cookie before the envelope wraps it.
  await registerRefreshCookie(app, config);
  registerSuccessEnvelope(fastify as unknown as Parameters<typeof registerSuccessEnvelope>[0]);
  overrides.instrumentHttp?.(fastify as unknown as import('fastify').FastifyInstance);
  if (config.http.corsOrigins.length) {
    const allowed = new Set(config.http.corsOrigins);
    app.enableCors({
      origin: (origin, callback) => callback(null, !!origin && origin !== 'null' && allowed.has(origin)),
      // Cookie mode: the SPA's fetch(…, {credentials: 'include'}) must be allowed to send and receive the refresh cookie.
      credentials: config.sessions.refreshTokenCookie,
      // The API's own verbs: the default (GET, HEAD, POST) would fail every PATCH/DELETE preflight.
      methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
      exposedHeaders: ['X-Request-Id', 'Retry-After'],
      maxAge: 600,
    });
  }

  app.setGlobalPrefix(API_PREFIX, {
    exclude: [
      { path: '.well-known/jwks.json', method: RequestMethod.GET },
      // Probes and scrapers look at the root.
      { path: 'health/live', method: RequestMethod.GET },
      { path: 'health/ready', method: RequestMethod.GET },
      { path: 'metrics', method: RequestMethod.GET },
    ],
  });
  SwaggerModule.setup('docs', app, () => buildOpenApiDocument(app), {
    jsonDocumentUrl: 'docs-json',
    customSiteTitle: 'User Centre API',
    swaggerOptions: { persistAuthorization: true, displayOperationId: true },
  });
  // On SIGTERM: readiness turns 503, Fastify finishes in-flight requests (new ones get 503), pools close, exit 0.
  app.enableShutdownHooks([], { useProcessExit: true });
  try {
    await app.init();
  } catch (error) {
    // A start-up hook refused (e.g. a bad ADMIN_PASSWORD): release the database and store, then report.
    await app.close().catch(() => undefined);
    throw error;
  }
  await fastify.ready();
  return app;
}
