import { Body, Controller, Get, Param, Patch, Post } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { AppException, CommonErrors } from '@/common/errors';
import { Client, ClientInfo, SuccessMessage } from '@/common/http/decorators';
import { ApiEnvelope, ApiErrors } from '@/common/http/openapi';
import { AllowApiKey, Auth, CurrentUser, Public } from '@/modules/auth/decorators';
import type { Principal } from '@/modules/auth/principal';
import { HumanCheckErrors } from '@/modules/human-check/human-check.errors';
import { VerificationErrors } from '@/modules/verification/verification.errors';
import { CreatePhoneUserDto, CreateUserDto, UpdateProfileDto } from './dto/create-user.dto';
import { PublicProfileDto, toPublicProfile, UserResponseDto } from './dto/user-response.dto';
import { RegistrationService } from './registration.service';
import { UsersErrors } from './users.errors';
import { UsersService } from './users.service';

const PASSWORD_ERRORS = [
  UsersErrors.PASSWORD_TOO_SHORT,
  UsersErrors.PASSWORD_TOO_LONG,
  UsersErrors.PASSWORD_INVALID_CHARACTERS,
  UsersErrors.PASSWORD_TOO_COMMON,
  UsersErrors.PASSWORD_CONTAINS_IDENTITY,
];

@ApiTags('Users')
@Controller('users')
export class UsersController {
  constructor(
    private readonly users: UsersService,
    private readonly registration: RegistrationService,
  ) {}

  @Public()
  @Post()
  @SuccessMessage('signedUp')
  @ApiOperation({ operationId: 'register', summary: 'Sign up with username, email and password', description: 'New accounts are always normal_user. A captcha is required unless the operator turned REGISTRATION_CAPTCHA off. At most REGISTRATION_PER_IP_PER_HOUR (30) attempts per client IP per hour, on both sign-up routes together.' })
  @ApiEnvelope(UserResponseDto, { status: 201, description: 'The new account' })
  @ApiErrors(
    CommonErrors.VALIDATION_FAILED,
    UsersErrors.USERNAME_INVALID,
    ...PASSWORD_ERRORS,
    HumanCheckErrors.CAPTCHA_REQUIRED,
    HumanCheckErrors.CAPTCHA_INVALID,
    UsersErrors.REGISTRATION_DISABLED,
    UsersErrors.REGISTRATION_KEY_INVALID,
    UsersErrors.USERNAME_TAKEN,
    UsersErrors.EMAIL_TAKEN,
    VerificationErrors.CODE_INVALID,
    VerificationErrors.CODE_EXPIRED,
  )
  register(@Body() dto: CreateUserDto, @Client() client: ClientInfo): Promise<UserResponseDto> {
    return this.registration.register(dto, client);
  }

  @Public()
  @Post('phone')
  @SuccessMessage('signedUp')
  @ApiOperation({ operationId: 'registerByPhone', summary: 'Sign up with a phone number and an SMS code', description: 'The code comes from POST /verification/sms-codes with purpose register. A username is generated (u_ + 10 characters). Without a password the account signs in by SMS code. The code is checked first: register codes never reach a taken number, so a taken number answers like a wrong code (409 PHONE_TAKEN only when the number was taken after its code was sent).' })
  @ApiEnvelope(UserResponseDto, { status: 201, description: 'The new account' })
  @ApiErrors(
    CommonErrors.VALIDATION_FAILED,
    VerificationErrors.CODE_INVALID,
    VerificationErrors.CODE_EXPIRED,
    ...PASSWORD_ERRORS,
    UsersErrors.REGISTRATION_DISABLED,
    UsersErrors.REGISTRATION_KEY_INVALID,
    UsersErrors.PHONE_TAKEN,
  )
  registerByPhone(@Body() dto: CreatePhoneUserDto, @Client() client: ClientInfo): Promise<UserResponseDto> {
    return this.registration.registerByPhone(dto, client);
  }

  @AllowApiKey('profile:read')
  @Auth()
  @Get('me')
  @ApiOperation({ operationId: 'getMe', summary: 'The signed-in account' })
  @ApiEnvelope(UserResponseDto, { description: 'The account' })
  getMe(@CurrentUser() principal: Principal): Promise<UserResponseDto> {
    return this.users.getView(principal.userId);
  }

  @AllowApiKey('profile:write')
  @Auth()
  @Patch('me')
  @SuccessMessage('updated')
  @ApiOperation({ operationId: 'updateMe', summary: 'Update profile fields', description: 'Send any of displayName, intro, github, school, website; omitted fields keep their values.' })
  @ApiEnvelope(UserResponseDto, { description: 'The updated account' })
  @ApiErrors(CommonErrors.VALIDATION_FAILED)
  async updateMe(@CurrentUser() principal: Principal, @Body() dto: UpdateProfileDto): Promise<UserResponseDto> {
    const user = await this.users.updateProfile(principal.userId, dto);
    return this.users.toResponse(user);
  }

  @Public()
  @Get(':username')
  @ApiOperation({ operationId: 'getPublicProfile', summary: "Anyone's public profile" })
  @ApiParam({ name: 'username', description: 'User name (compared by its confusable skeleton: case and look-alike characters do not matter)', example: 'alice_01' })
  @ApiEnvelope(PublicProfileDto, { description: 'The public profile' })
  @ApiErrors(UsersErrors.USER_NOT_FOUND)
  async getPublicProfile(@Param('username') username: string): Promise<PublicProfileDto> {
    const user = username.length <= 64 ? await this.users.findByUsername(username) : null;
    if (!user || user.status !== 'active') throw new AppException(UsersErrors.USER_NOT_FOUND);
    return toPublicProfile(this.users.toResponse(user));
  }
}
