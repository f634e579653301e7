import { Controller, Get, Inject, Res } from '@nestjs/common';
import { ApiExtraModels, ApiOperation, ApiProperty, ApiResponse, ApiTags, getSchemaPath } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { APP_CONFIG, AppConfig } from '@/config/app-config';
import { AcceptLanguage, RawResponse } from '@/common/http/decorators';
import { pickLanguage, successMessages } from '@/common/i18n';
import { Public } from './decorators';
import { JwkDto, JwksDto } from './dto/auth.dto';
import { SigningKeys } from './keys/signing-keys.service';

class JwksEnvelopeDto {
  @ApiProperty({ description: 'Always 200', example: 200 }) code: number;
  @ApiProperty({ description: 'The key set, for envelope readers', type: JwksDto }) data: JwksDto;
  @ApiProperty({ description: 'Human-readable message', example: 'OK' }) msg: string;
  @ApiProperty({ type: [JwkDto], description: 'The same keys, where JWKS clients look for them' }) keys: JwkDto[];
}

/** Served outside /api/v1 (see app.setup.ts) so that JWT libraries find it at the usual place. */
@ApiTags('Auth')
@Controller('.well-known')
export class JwksController {
  constructor(
    private readonly keys: SigningKeys,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Public()
  @Get('jwks.json')
  @RawResponse()
  @ApiOperation({
    operationId: 'getJwks',
    summary: 'Public keys that sign access tokens (JWKS)',
    description:
      'Both an envelope and an RFC 7517 key set: `data.keys` for envelope readers, and the same `keys` at the top level so that standard JWT libraries (jose, jwks-rsa) can fetch it as they are (RFC 7517 tells them to ignore the other members). ' +
      'Every key that may have signed a live token is listed (all of JWT_PRIVATE_KEYS), and the next key (JWT_NEXT_PUBLIC_KEY) before it signs anything; pick the key by the token header\'s `kid`. ' +
      'The answer may be cached for `Cache-Control: public, max-age=<JWKS_MAX_AGE_SECONDS, default 600>`; a key rotation waits that long between publishing a key and signing with it.',
  })
  @ApiExtraModels(JwksEnvelopeDto)
  @ApiResponse({
    status: 200,
    description: 'The key set',
    schema: { $ref: getSchemaPath(JwksEnvelopeDto) },
    headers: { 'Cache-Control': { description: 'public, max-age=<JWKS_MAX_AGE_SECONDS> (default 600)', schema: { type: 'string', example: 'public, max-age=600' } } },
  })
  getJwks(@Res({ passthrough: true }) reply: FastifyReply, @AcceptLanguage() language?: string): JwksEnvelopeDto {
    void reply.header('Cache-Control', `public, max-age=${this.config.tokens.jwksMaxAgeSeconds}`);
    return { code: 200, data: this.keys.jwks as JwksDto, msg: successMessages.ok[pickLanguage(language)], keys: this.keys.jwks.keys as JwksDto['keys'] };
  }
}
