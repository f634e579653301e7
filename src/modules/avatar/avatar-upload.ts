import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import multipart from '@fastify/multipart';
import type { FastifyRequest } from 'fastify';
import type { AppConfig } from '@/config/app-config';
import { AppException, CommonErrors } from '@/common/errors';
import { AvatarErrors } from './avatar.errors';

/** Room for the multipart boundaries and part headers around the file itself. */
const ENVELOPE_SLACK_BYTES = 16 * 1024;

/** Route config flag (`@MergeRouteConfig({ multipart: true })`) of the few routes that take multipart bodies. */
export interface MultipartRouteConfig {
  multipart?: boolean;
}

/**
 * Registers @fastify/multipart with tight limits. Its parser only marks the request; the body is
 * read by the route, as a stream, after the guard has run. Every other route keeps refusing
 * multipart bodies with 415, like any non-JSON body.
 */
export async function registerMultipart(app: NestFastifyApplication, config: AppConfig): Promise<void> {
  await app.register(multipart, {
    limits: { fileSize: config.avatars.maxBytes, files: 1, fields: 4, fieldSize: 1024, parts: 5, headerPairs: 32 },
    throwFileSizeLimit: true,
  });
  app.getHttpAdapter().getInstance().addHook('preValidation', async (request: FastifyRequest) => {
    const routeConfig = request.routeOptions.config as MultipartRouteConfig | undefined;
    if (request.isMultipart() && request.routeOptions.url !== undefined && !routeConfig?.multipart) {
      throw new AppException(CommonErrors.UNSUPPORTED_MEDIA_TYPE);
    }
  });
}

function uploadFailure(error: unknown): unknown {
  if (error instanceof AppException) return error;
  const code = (error as { code?: string })?.code;
  if (code === 'FST_REQ_FILE_TOO_LARGE' || code === 'FST_PARTS_LIMIT' || code === 'FST_FILES_LIMIT' || code === 'FST_FIELDS_LIMIT') {
    return new AppException(AvatarErrors.AVATAR_TOO_LARGE);
  }
  if (code === 'FST_INVALID_MULTIPART_CONTENT_TYPE') return new AppException(AvatarErrors.AVATAR_MULTIPART_REQUIRED);
  // busboy's own complaints (no boundary, unexpected end of form, ...) and a client that went away.
  return new AppException(AvatarErrors.AVATAR_UPLOAD_MALFORMED);
}

/**
 * Reads the one file of an avatar upload into memory, never more than the limit: a declared
 * length over it is refused before a byte of the body is read, and a body that lies about its
 * length (or is chunked) is cut off by busboy at the limit.
 */
export async function readAvatarUpload(request: FastifyRequest, maxBytes: number): Promise<Buffer> {
  if (!request.isMultipart()) throw new AppException(AvatarErrors.AVATAR_MULTIPART_REQUIRED);
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes + ENVELOPE_SLACK_BYTES) throw new AppException(AvatarErrors.AVATAR_TOO_LARGE);
  try {
    const part = await request.file();
    if (!part || part.fieldname !== 'file') {
      part?.file.resume();
      throw new AppException(AvatarErrors.AVATAR_FILE_REQUIRED);
    }
    const bytes = await part.toBuffer();
    if (!bytes.length) throw new AppException(AvatarErrors.AVATAR_FILE_REQUIRED);
    return bytes;
  } catch (error) {
    throw uploadFailure(error);
  }
}
