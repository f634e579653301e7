import { Body, Controller, Get, Param, ParseUUIDPipe, Patch, Query } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { AppException, CommonErrors } from '@/common/errors';
import { Client, ClientInfo, SuccessMessage } from '@/common/http/decorators';
import { ApiEnvelope, ApiErrors } from '@/common/http/openapi';
import { Auth, CurrentUser } from '@/modules/auth/decorators';
import type { Principal } from '@/modules/auth/principal';
import { UserResponseDto } from '@/modules/users/dto/user-response.dto';
import { UsersErrors } from '@/modules/users/users.errors';
import { AdminService } from './admin.service';
import { AuditEventPageDto, ListAuditEventsQueryDto } from './dto/audit-events-query.dto';
import { AdminUserDto, ListUsersQueryDto, UpdateUserByAdminDto, UserPageDto } from './dto/admin-users.dto';

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

  @Get('audit-events')
  @ApiOperation({ operationId: 'adminListAuditEvents', summary: 'Security events', description: 'Sign-ins and failures, sign-outs, refresh-token reuse, password changes, role and status changes, deletions; newest first, filtered by account and type.' })
  @ApiEnvelope(AuditEventPageDto, { description: 'A page of events' })
  @ApiErrors(CommonErrors.VALIDATION_FAILED)
  listAuditEvents(@Query() query: ListAuditEventsQueryDto): Promise<AuditEventPageDto> {
    return this.admin.listAuditEvents(query);
  }
}
