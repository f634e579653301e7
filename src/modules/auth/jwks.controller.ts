import { Controller, Get, Header } from '@nestjs/common';
import { ApiExtraModels, ApiOperation, ApiProperty, ApiResponse, ApiTags, getSchemaPath } from '@nestjs/swagger';
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
  constructor(private readonly keys: SigningKeys) {}

  @Public()
  @Get('jwks.json')
  @Header('Cache-Control', 'public, max-age=300')
  @RawResponse()
  @ApiOperation({
    operationId: 'getJwks',
    summary: 'Public keys that sign access tokens (JWKS)',
    description:
      'Both an envelope and an RFC 7517 key set: `data.keys` for envelope readers, and the same `keys` at the top level so that standard JWT libraries (jose, jwks-rsa) can fetch it as they are (RFC 7517 tells them to ignore the other members).',
  })
  @ApiExtraModels(JwksEnvelopeDto)
  @ApiResponse({ status: 200, description: 'The key set', schema: { $ref: getSchemaPath(JwksEnvelopeDto) } })
  getJwks(@AcceptLanguage() language?: string): JwksEnvelopeDto {
    return { code: 200, data: this.keys.jwks as JwksDto, msg: successMessages.ok[pickLanguage(language)], keys: this.keys.jwks.keys as JwksDto['keys'] };
  }
}
