import { Controller, Get, Param, ParseUUIDPipe } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { AppException } from '@/common/errors';
import { ApiEnvelope, ApiErrors } from '@/common/http/openapi';
import { Internal } from '@/modules/auth/decorators';
import { UserResponseDto } from './dto/user-response.dto';
import { UsersErrors } from './users.errors';
import { UsersService } from './users.service';

const userIdPipe = new ParseUUIDPipe({ exceptionFactory: () => new AppException(UsersErrors.USER_NOT_FOUND) });

/** Contract §12: how a webhook receiver reads what changed. Service keys only; a user (admins included) uses /users/me or /admin/users/{id}. */
@ApiTags('Internal')
@Controller('internal/users')
export class InternalUsersController {
  constructor(private readonly users: UsersService) {}

  @Internal('users:read')
  @Get(':id')
  @ApiOperation({
    operationId: 'internalGetUser',
    summary: 'One account, as its owner sees it (internal services)',
    description:
      'Needs a key from INTERNAL_API_KEYS with the scope users:read in X-API-Key; a bearer token (an admin\'s too) or a personal API key is not a service key (401 API_KEY_INVALID). ' +
      'Answers the same view as GET /users/me, read from the database (never a cached copy), so a deleted account answers 404 USER_NOT_FOUND at once; a disabled one answers with status disabled. Counted by the per-IP rate limit like every route.',
  })
  @ApiParam({ name: 'id', description: 'Account id (the userId of an event)', example: '5f0c6c1e-8a55-4d5c-9a55-6b1f0c9a1e11' })
  @ApiEnvelope(UserResponseDto, { description: 'The account' })
  @ApiErrors(UsersErrors.USER_NOT_FOUND)
  async getUser(@Param('id', userIdPipe) id: string): Promise<UserResponseDto> {
    return this.users.toResponse(await this.users.getById(id));
  }
}
