import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Patch, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { AppException, CommonErrors } from '@/common/errors';
import { Client, ClientInfo, SuccessMessage } from '@/common/http/decorators';
import { ApiEnvelope, ApiErrors } from '@/common/http/openapi';
import { Auth, CurrentUser } from '@/modules/auth/decorators';
import type { Principal } from '@/modules/auth/principal';
import { UserResponseDto } from '@/modules/users/dto/user-response.dto';
import { UsersErrors } from '@/modules/users/users.errors';
import { AuthErrors } from '@/modules/auth/auth.errors';
import { AccountErrors } from '@/modules/account/account.errors';
import { AdminErrors } from './admin.errors';
import { AdminService } from './admin.service';
import { AuditEventPageDto, ListAuditEventsQueryDto } from './dto/audit-events-query.dto';
import { AdminUserDto, ListUsersQueryDto, UpdateUserByAdminDto, UserPageDto } from './dto/admin-users.dto';
import { RevokeAllSessionsDto, RevokeAllSessionsResultDto } from './dto/revoke-all-sessions.dto';

const userIdPipe = new ParseUUIDPipe({ exceptionFactory: () => new AppException(UsersErrors.USER_NOT_FOUND) });

/** Every route here is for admins only: the class-level @Auth means a new route cannot forget it. */
@ApiTags('Admin')
@Auth({ roles: ['admin'] })
@Controller('admin')
export class AdminController {
  constructor(private readonly admin: AdminService) {}

  @Get('users')
  @ApiOperation({ operationId: 'adminListUsers', summary: 'List and search accounts', description: 'Paged (pageSize at most 100), newest first; q matches a prefix of the username, email or E.164 phone.' })
  @ApiEnvelope(UserPageDto, { description: 'A page of accounts' })
  @ApiErrors(CommonErrors.VALIDATION_FAILED)
  listUsers(@Query() query: ListUsersQueryDto): Promise<UserPageDto> {
    return this.admin.listUsers(query);
  }

  @Get('users/:id')
  @ApiOperation({ operationId: 'adminGetUser', summary: 'One account' })
  @ApiParam({ name: 'id', description: 'Account id', example: '5f0c6c1e-8a55-4d5c-9a55-6b1f0c9a1e11' })
  @ApiEnvelope(AdminUserDto, { description: 'The account, with its linked identity providers' })
  @ApiErrors(UsersErrors.USER_NOT_FOUND)
  getUser(@Param('id', userIdPipe) id: string): Promise<AdminUserDto> {
    return this.admin.getUser(id);
  }

  @Patch('users/:id')
  @SuccessMessage('updated')
  @ApiOperation({
    operationId: 'adminUpdateUser',
    summary: "Change an account's role or status",
    description: 'Disabling revokes every session of the account at once (and its API key stops working). The last active admin cannot be demoted or disabled (409 LAST_ADMIN).',
  })
  @ApiParam({ name: 'id', description: 'Account id', example: '5f0c6c1e-8a55-4d5c-9a55-6b1f0c9a1e11' })
  @ApiEnvelope(UserResponseDto, { description: 'The updated account' })
  @ApiErrors(CommonErrors.VALIDATION_FAILED, UsersErrors.USER_NOT_FOUND, UsersErrors.LAST_ADMIN)
  updateUser(
    @CurrentUser() principal: Principal,
    @Param('id', userIdPipe) id: string,
    @Body() dto: UpdateUserByAdminDto,
    @Client() client: ClientInfo,
  ): Promise<UserResponseDto> {
    return this.admin.updateUser(principal, id, dto, client);
  }

  @Post('sessions/revoke-all')
  @HttpCode(200)
  @SuccessMessage('sessionsRevoked')
  @ApiOperation({
    operationId: 'adminRevokeAllSessions',
    summary: 'Sign out every session started before a time (emergency)',
    description:
      'For a leaked signing key or a breach: every session of every user that started before `before` (default now) is signed out at once on every instance — its access tokens are refused on the next request, its refresh token no longer refreshes. ' +
      'One marker in the shared store, compared with the session start each token carries: no write per session, no database query per request. ' +
      'Needs a recent authentication (⏱, RECENT_AUTH_SECONDS; 403 RECENT_AUTH_REQUIRED otherwise). The caller\'s own session is signed out too when it started before the cut-off. ' +
      'The cut-off only moves forward: a later call with an earlier `before` keeps the later one (the answer says which is in force). Audited as `sessions_revoked_all`. ' +
      'After a key leak, first rotate the key (drop the leaked one), then call this.',
  })
  @ApiEnvelope(RevokeAllSessionsResultDto, { description: 'The cut-off in force' })
  // Every 403 of the route in one list: a method's 403 replaces the class's (@Auth: FORBIDDEN, API_KEY_SCOPE).
  @ApiErrors(CommonErrors.VALIDATION_FAILED, AdminErrors.REVOKE_BEFORE_IN_FUTURE, CommonErrors.FORBIDDEN, AccountErrors.API_KEY_SCOPE, AuthErrors.RECENT_AUTH_REQUIRED)
  revokeAllSessions(@CurrentUser() principal: Principal, @Body() dto: RevokeAllSessionsDto, @Client() client: ClientInfo): Promise<RevokeAllSessionsResultDto> {
    return this.admin.revokeAllSessions(principal, dto, client);
  }

  @Get('audit-events')
  @ApiOperation({ operationId: 'adminListAuditEvents', summary: 'Security events', description: 'Sign-ins and failures, sign-outs, refresh-token reuse, password changes, role and status changes, deletions; newest first, filtered by account and type.' })
  @ApiEnvelope(AuditEventPageDto, { description: 'A page of events' })
  @ApiErrors(CommonErrors.VALIDATION_FAILED)
  listAuditEvents(@Query() query: ListAuditEventsQueryDto): Promise<AuditEventPageDto> {
    return this.admin.listAuditEvents(query);
  }
}
