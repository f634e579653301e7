import { Controller, Get, Param, ParseUUIDPipe, Res } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { AppException, CommonErrors } from '@/common/errors';
import { Client, ClientInfo, RawResponse } from '@/common/http/decorators';
import { ApiErrors } from '@/common/http/openapi';
import { Public } from '@/modules/auth/decorators';
import { ImageCaptchaService } from './image-captcha.service';

const uuidPipe = new ParseUUIDPipe({ exceptionFactory: () => new AppException(CommonErrors.VALIDATION_FAILED, { details: [{ field: 'captchaId', message: 'captchaId must be a UUID' }] }) });

@ApiTags('Verification')
@Controller('verification/captcha')
export class CaptchaController {
  constructor(private readonly captchas: ImageCaptchaService) {}

  @Public()
  @Get(':captchaId')
  @RawResponse()
  @ApiOperation({
    operationId: 'getCaptcha',
    summary: 'Fetch an image captcha',
    description: 'Returns a PNG image (a raster: several fonts, each character rotated and warped, crossed by strokes and noise). The client picks a fresh UUID; each GET replaces the pending answer for that id. Valid for 5 minutes (CAPTCHA_TTL), single-use, case-insensitive; any attempt that names its id burns it (a wrong answer, no answer, or a right one). One client IP holds at most CAPTCHA_PER_IP pending captchas (default 20): a newer one makes the oldest of that IP unanswerable (CAPTCHA_INVALID). 404 when HUMAN_CHECK asks for no image captcha.',
  })
  @ApiParam({ name: 'captchaId', description: 'A UUID chosen by the client', example: '0b6f1c9e-2f7a-4c1e-9a8b-3d2e1f0a9b8c' })
  @ApiResponse({ status: 200, description: 'The captcha image', content: { 'image/png': { schema: { type: 'string', format: 'binary' } } } })
  @ApiErrors(CommonErrors.VALIDATION_FAILED, CommonErrors.NOT_FOUND, CommonErrors.TOO_MANY_REQUESTS)
  async getCaptcha(@Param('captchaId', uuidPipe) captchaId: string, @Client() client: ClientInfo, @Res() reply: FastifyReply): Promise<void> {
    const png = await this.captchas.issue(captchaId, client.ip);
    await reply.status(200).header('Content-Type', 'image/png').send(png);
  }
}
