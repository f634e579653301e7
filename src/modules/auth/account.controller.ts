import { Body, Controller, Delete, HttpCode, Post, Put } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { CommonErrors } from '@/common/errors';
import { Client, ClientInfo, SuccessMessage } from '@/common/http/decorators';
import { ApiEnvelope, ApiErrors } from '@/common/http/openapi';
import { UsersErrors } from '@/modules/users/users.errors';
import { AccountService } from './account.service';
import { Auth, CurrentUser } from './decorators';
import { ApiKeyDto, ChangePasswordDto, DeleteAccountDto } from './dto/account.dto';
import { Principal } from './principal';

@ApiTags('Users')
@Controller('users/me')
export class AccountController {
  constructor(private readonly account: AccountService) {}

  @Auth()
  @Put('password')
  @HttpCode(200)
  @SuccessMessage('passwordChanged')
  @ApiOperation({ operationId: 'changePassword', summary: 'Change the password', description: 'Needs the current password. Every other session is revoked; this one stays signed in.' })
  @ApiEnvelope(null, { description: 'Changed' })
  @ApiErrors(
    CommonErrors.VALIDATION_FAILED,
    UsersErrors.PASSWORD_INCORRECT,
    UsersErrors.PASSWORD_UNCHANGED,
    UsersErrors.PASSWORD_TOO_SHORT,
    UsersErrors.PASSWORD_TOO_LONG,
    UsersErrors.PASSWORD_INVALID_CHARACTERS,
    UsersErrors.PASSWORD_TOO_COMMON,
    UsersErrors.PASSWORD_CONTAINS_IDENTITY,
  )
  async changePassword(@CurrentUser() principal: Principal, @Body() dto: ChangePasswordDto, @Client() client: ClientInfo): Promise<void> {
    await this.account.changePassword(principal, dto.oldPassword, dto.newPassword, client);
  }

  @Auth()
  @Delete()
  @SuccessMessage('deleted')
  @ApiOperation({ operationId: 'deleteMe', summary: 'Delete your account', description: 'Needs the current password (password-less phone accounts: a sign-in within the last hour). Personal data is removed, every session revoked, and the username, email and phone become free.' })
  @ApiEnvelope(null, { description: 'Deleted' })
  @ApiErrors(CommonErrors.VALIDATION_FAILED, UsersErrors.PASSWORD_INCORRECT, CommonErrors.FORBIDDEN)
  async deleteMe(@CurrentUser() principal: Principal, @Body() dto: DeleteAccountDto, @Client() client: ClientInfo): Promise<void> {
    await this.account.deleteAccount(principal, dto, client);
  }

  @Auth()
  @Post('api-key')
  @SuccessMessage('apiKeyCreated')
  @ApiOperation({ operationId: 'createApiKey', summary: 'Create a personal API key', description: 'Shown once; replaces the previous key. Send it as X-API-Key to act as yourself on the user routes.' })
  @ApiEnvelope(ApiKeyDto, { status: 201, description: 'The new key' })
  async createApiKey(@CurrentUser() principal: Principal, @Client() client: ClientInfo): Promise<ApiKeyDto> {
    return { apiKey: await this.account.createApiKey(principal, client) };
  }
}
