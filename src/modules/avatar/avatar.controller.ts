import { Controller, Get, Inject, Param, Post, Req, Res } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { APP_CONFIG, AppConfig } from '@/config/app-config';
import { AppException, CommonErrors } from '@/common/errors';
import { MergeRouteConfig, RawResponse, SuccessMessage } from '@/common/http/decorators';
import { ApiEnvelope, ApiErrors } from '@/common/http/openapi';
import { AllowApiKey, Auth, CurrentUser, Public } from '@/modules/auth/decorators';
import type { Principal } from '@/modules/auth/principal';
import { AvatarErrors } from './avatar.errors';
import { isAvatarFileName } from './avatar-names';
import { MultipartRouteConfig, readAvatarUpload } from './avatar-upload';
import { AvatarService } from './avatar.service';
import { AvatarResponseDto } from './dto/avatar.dto';
import { AVATAR_CONTENT_TYPE, AvatarStorage, IMMUTABLE_CACHE } from './storage/avatar-storage';

@ApiTags('Users')
@Controller()
export class AvatarController {
  constructor(
    private readonly avatars: AvatarService,
    private readonly storage: AvatarStorage,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @AllowApiKey('profile:write')
  @Auth()
  @Post('users/me/avatar')
  @MergeRouteConfig({ multipart: true } satisfies MultipartRouteConfig)
  @SuccessMessage('avatarUpdated')
  @ApiOperation({
    operationId: 'uploadAvatar',
    summary: 'Upload a new avatar',
    description:
      'multipart/form-data with one field `file`: a JPEG, PNG, WebP or GIF image (judged by its bytes, not its name or declared type), at most 5 MiB (AVATAR_MAX_BYTES), at least 32×32 and at most 16,777,216 pixels (AVATAR_MAX_PIXELS). The image is re-encoded to a centred square WebP without metadata at 256 and 64 pixels; the upload itself is never served. The previous avatar is deleted. At most 10 uploads per hour (AVATAR_UPLOADS_PER_HOUR).',
  })
  @ApiConsumes('multipart/form-data')
  @ApiBody({
    schema: {
      type: 'object',
      required: ['file'],
      properties: { file: { type: 'string', format: 'binary', description: 'The image: JPEG, PNG, WebP or GIF, at most 5 MiB' } },
    },
  })
  @ApiEnvelope(AvatarResponseDto, { status: 201, description: 'The new avatar URL (the user view shows it as avatarUrl)' })
  @ApiErrors(
    AvatarErrors.AVATAR_FILE_REQUIRED,
    AvatarErrors.AVATAR_UPLOAD_MALFORMED,
    AvatarErrors.AVATAR_IMAGE_INVALID,
    AvatarErrors.AVATAR_TOO_SMALL,
    AvatarErrors.AVATAR_TOO_MANY_PIXELS,
    AvatarErrors.AVATAR_TOO_LARGE,
    AvatarErrors.AVATAR_MULTIPART_REQUIRED,
    AvatarErrors.AVATAR_UNSUPPORTED_TYPE,
    CommonErrors.TOO_MANY_REQUESTS,
  )
  async upload(@CurrentUser() principal: Principal, @Req() request: FastifyRequest): Promise<AvatarResponseDto> {
    await this.avatars.assertUploadAllowed(principal.userId);
    const upload = await readAvatarUpload(request, this.config.avatars.maxBytes);
    return { avatarUrl: await this.avatars.replace(principal.userId, upload) };
  }

  @Public()
  @Get('avatars/:fileName')
  @RawResponse()
  @ApiOperation({
    operationId: 'getAvatar',
    summary: 'Fetch an avatar image',
    description:
      'Local storage answers the WebP bytes (`image/webp`, `nosniff`, cached for a year: names are random and never reused). With S3 storage it redirects (302) to the object: its public URL, or a presigned URL valid for S3_SIGNED_URL_TTL seconds.',
  })
  @ApiParam({ name: 'fileName', description: '32 hex digits, optionally "-64", then ".webp"', example: '3f2a9c0d4b1e8a7f6c5d4e3f2a1b0c9d-64.webp' })
  @ApiResponse({ status: 200, description: 'The image', content: { 'image/webp': { schema: { type: 'string', format: 'binary' } } } })
  @ApiResponse({ status: 302, description: 'S3 storage: the object lives at the Location URL' })
  @ApiErrors(AvatarErrors.AVATAR_NOT_FOUND)
  async serve(@Param('fileName') fileName: string, @Res() reply: FastifyReply): Promise<void> {
    const delivery = isAvatarFileName(fileName) ? await this.storage.deliver(fileName) : null;
    if (!delivery) throw new AppException(AvatarErrors.AVATAR_NOT_FOUND);
    if (delivery.kind === 'redirect') {
      await reply.status(302).header('Location', delivery.url).header('Cache-Control', delivery.cacheControl).send();
      return;
    }
    await reply
      .status(200)
      .header('Content-Type', AVATAR_CONTENT_TYPE)
      .header('X-Content-Type-Options', 'nosniff')
      .header('Cache-Control', IMMUTABLE_CACHE)
      // Helmet's default (same-origin) would stop an SPA on another origin from showing avatars.
      .header('Cross-Origin-Resource-Policy', 'cross-origin')
      // frame-ancestors does not fall back to default-src: it is named so an image cannot be framed either.
      .header('Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'")
      .send(delivery.bytes);
  }
}
