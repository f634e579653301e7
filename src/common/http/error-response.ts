import { randomUUID } from 'node:crypto';
import { HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppException, CommonErrors, ErrorEntry, FieldProblem } from '../errors';
import { pickLanguage } from '../i18n';

export interface ErrorEnvelope {
  code: number;
  msg: string;
  error: string;
  requestId: string;
  details?: FieldProblem[];
}

/** Dependencies that are down (database, Redis) raise this; the client sees 503, never internals. */
export class DependencyUnavailableError extends Error {
  constructor(readonly dependency: string, cause?: unknown) {
    super(`${dependency} is unavailable`, { cause });
  }
}

const byStatus: Record<number, ErrorEntry> = {
  [HttpStatus.BAD_REQUEST]: CommonErrors.VALIDATION_FAILED,
  [HttpStatus.UNAUTHORIZED]: CommonErrors.UNAUTHENTICATED,
  [HttpStatus.FORBIDDEN]: CommonErrors.FORBIDDEN,
  [HttpStatus.NOT_FOUND]: CommonErrors.NOT_FOUND,
  [HttpStatus.METHOD_NOT_ALLOWED]: CommonErrors.METHOD_NOT_ALLOWED,
  [HttpStatus.PAYLOAD_TOO_LARGE]: CommonErrors.PAYLOAD_TOO_LARGE,
  [HttpStatus.URI_TOO_LONG]: CommonErrors.URI_TOO_LONG,
  [HttpStatus.UNSUPPORTED_MEDIA_TYPE]: CommonErrors.UNSUPPORTED_MEDIA_TYPE,
  [HttpStatus.TOO_MANY_REQUESTS]: CommonErrors.TOO_MANY_REQUESTS,
  [HttpStatus.SERVICE_UNAVAILABLE]: CommonErrors.SERVICE_UNAVAILABLE,
};

const fastifyCodes: Record<string, ErrorEntry> = {
  FST_ERR_CTP_INVALID_JSON_BODY: CommonErrors.MALFORMED_JSON,
  FST_ERR_CTP_EMPTY_JSON_BODY: CommonErrors.MALFORMED_JSON,
  FST_ERR_CTP_BODY_TOO_LARGE: CommonErrors.PAYLOAD_TOO_LARGE,
  FST_ERR_CTP_INVALID_MEDIA_TYPE: CommonErrors.UNSUPPORTED_MEDIA_TYPE,
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: CommonErrors.VALIDATION_FAILED,
  FST_ERR_CTP_INVALID_TYPE: CommonErrors.UNSUPPORTED_MEDIA_TYPE,
  FST_ERR_BAD_URL: CommonErrors.NOT_FOUND,
  FST_ERR_MAX_PARAM_LENGTH: CommonErrors.URI_TOO_LONG,
  FST_ERR_ASYNC_CONSTRAINT: CommonErrors.VALIDATION_FAILED,
  FST_ERR_CTP_INVALID_PARAMETER: CommonErrors.VALIDATION_FAILED,
};

const FASTIFY_JSON_MESSAGE = /is not valid JSON|cannot be empty when content-type|Unexpected token|JSON at position/i;

/** Connection-level failures of mysql2, better-sqlite3, ioredis and the socket layer. */
const unavailableCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'PROTOCOL_CONNECTION_LOST',
  'ER_CON_COUNT_ERROR',
  'POOL_CLOSED',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'SQLITE_BUSY',
  'SQLITE_CANTOPEN',
  'SQLITE_IOERR',
]);

function looksUnavailable(error: unknown): boolean {
  type Link = { code?: unknown; cause?: unknown; driverError?: unknown; message?: unknown };
  let current = error as Link | undefined;
  for (let depth = 0; current && depth < 5; depth++) {
    if (current instanceof DependencyUnavailableError) return true;
    if (typeof current.code === 'string' && unavailableCodes.has(current.code)) return true;
    if (typeof current.message === 'string' && /connection is not established|Connection is closed|Pool is closed|connect ETIMEDOUT/i.test(current.message)) return true;
    current = (current.driverError ?? current.cause) as Link | undefined;
  }
  return false;
}

function classify(error: unknown): { entry: ErrorEntry; details?: FieldProblem[]; retryAfterSeconds?: number; unexpected: boolean } {
  if (error instanceof AppException) return { entry: error.entry, ...error.extra, unexpected: false };
  const fastifyCode = (error as { code?: unknown })?.code;
  if (typeof fastifyCode === 'string' && fastifyCodes[fastifyCode]) return { entry: fastifyCodes[fastifyCode], unexpected: false };
  if (error instanceof HttpException) {
    const status = error.getStatus();
    // Nest re-wraps Fastify's body-parser errors as HttpException, keeping only the message.
    if (status === HttpStatus.BAD_REQUEST && FASTIFY_JSON_MESSAGE.test(error.message)) return { entry: CommonErrors.MALFORMED_JSON, unexpected: false };
    return { entry: byStatus[status] ?? CommonErrors.INTERNAL_ERROR, unexpected: !byStatus[status] };
  }
  if (looksUnavailable(error)) return { entry: CommonErrors.SERVICE_UNAVAILABLE, unexpected: false };
  const status = (error as { statusCode?: unknown })?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return { entry: byStatus[status] ?? CommonErrors.VALIDATION_FAILED, unexpected: false };
  }
  return { entry: CommonErrors.INTERNAL_ERROR, unexpected: true };
}

const logger = new Logger('Errors');

/**
 * The raw HTTP answer for a request Node's parser refused before any framework saw it (headers over
 * the size limit, broken framing): still the error envelope, then the connection is closed.
 */
export function clientErrorResponse(error: { code?: string }): string {
  const entry = error.code === 'HPE_HEADER_OVERFLOW' ? CommonErrors.HEADERS_TOO_LARGE : CommonErrors.MALFORMED_REQUEST;
  const body = JSON.stringify({ code: entry.status, msg: entry.message.en, error: entry.code, requestId: randomUUID() } satisfies ErrorEnvelope);
  const reason = entry.status === 431 ? 'Request Header Fields Too Large' : 'Bad Request';
  return `HTTP/1.1 ${entry.status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}

/** Turns any error into the error envelope and sends it. The only place that knows its shape. */
export function sendError(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const { entry, details, retryAfterSeconds, unexpected } = classify(error);
  const requestId = String(request.id);
  if (unexpected) {
    logger.error(`Unhandled error on ${request.method} ${request.routeOptions?.url ?? 'unknown route'} [${requestId}]`, (error as Error)?.stack);
  } else if (entry.status === HttpStatus.SERVICE_UNAVAILABLE) {
    logger.warn(`Dependency unavailable on ${request.method} [${requestId}]: ${(error as Error)?.message ?? 'unknown'}`);
  }
  const body: ErrorEnvelope = {
    code: entry.status,
    msg: entry.message[pickLanguage(request.headers['accept-language'])],
    error: entry.code,
    requestId,
  };
  if (details?.length) body.details = details;
  if (retryAfterSeconds !== undefined) void reply.header('Retry-After', String(Math.max(1, Math.ceil(retryAfterSeconds))));
  if (entry.status === HttpStatus.SERVICE_UNAVAILABLE && retryAfterSeconds === undefined) void reply.header('Retry-After', '5');
  void reply.status(entry.status).header('Content-Type', 'application/json; charset=utf-8').send(body);
}
