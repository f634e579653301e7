import { Controller, Get, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { CommonErrors } from '@/common/errors';
import { Client, ClientInfo, RawResponse } from '@/common/http/decorators';
import { ApiErrors } from '@/common/http/openapi';
import { Auth, CurrentUser, RecentAuth } from '@/modules/auth/decorators';
import type { Principal } from '@/modules/auth/principal';
import { ExportDocumentDto } from './dto/export.dto';
import { ExportService } from './export.service';

@ApiTags('Users')
@Controller('users/me')
export class ExportController {
  constructor(private readonly exports: ExportService) {}

  @Auth()
  @RecentAuth()
  @Get('export')
  @RawResponse()
  @ApiOperation({
    operationId: 'exportMyData',
    summary: 'Download everything held about you (a JSON file)',
    description:
      'A file to keep, so the answer is the document itself, not wrapped in the {code, data, msg} envelope (errors keep the error envelope). ' +
      '`Content-Disposition: attachment; filename="user-centre-export-<date>.json"` and `Cache-Control: no-store`. ' +
      'Holds the profile, contacts, live sessions (never a token), linked identities, second factors (whether TOTP is on, passkey names, recovery codes left — never a secret or a code), the real-name record masked, personal API keys (names and scopes, never the key) and the audit events about you. ' +
      'Sessions and audit events are the newest EXPORT_MAX_ITEMS (1000) each, with `total` and `truncated`; so the file stays bounded whatever the account\'s history. ' +
      'Needs a recent authentication (⏱; with MFA, including the second factor); a personal API key never reaches it. Every export is audited (data_exported), and the real-name read in it too (real_name_read). Counted by the per-IP rate limit like every route.',
  })
  @ApiProduces('application/json')
  @ApiOkResponse({
    description: 'The export file (no envelope)',
    type: ExportDocumentDto,
    headers: {
      'Content-Disposition': { description: 'attachment, with a file name', schema: { type: 'string', example: 'attachment; filename="user-centre-export-2026-12-07.json"' } },
      'Cache-Control': { description: 'never stored by a cache (the default of every answer; the test of this route checks it)', schema: { type: 'string', example: 'no-store' } },
    },
  })
  @ApiErrors(CommonErrors.TOO_MANY_REQUESTS)
  async export(@CurrentUser() principal: Principal, @Client() client: ClientInfo, @Res({ passthrough: true }) reply: FastifyReply): Promise<ExportDocumentDto> {
    const document = await this.exports.build(principal, client);
    void reply.header('Content-Disposition', `attachment; filename="user-centre-export-${document.exportedAt.slice(0, 10)}.json"`);
    return document;
  }
}
