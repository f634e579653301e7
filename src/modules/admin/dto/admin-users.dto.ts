import { IdentityDto } from '@/modules/federation/dto/federation.dto';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, MaxLength, MinLength } from 'class-validator';
import { PageQueryDto } from '@/common/http/pagination';
import { UserResponseDto } from '@/modules/users/dto/user-response.dto';
import { ROLES, Role, USER_STATUSES, UserStatus } from '@/modules/users/user.entity';

export class ListUsersQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ description: 'Prefix of the username or email (case-insensitive) or of the E.164 phone', example: 'ali' })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(254)
  q?: string;

  @ApiPropertyOptional({ description: 'Only this role', enum: ROLES, example: 'normal_user' })
  @IsOptional()
  @IsIn(ROLES)
  role?: Role;

  @ApiPropertyOptional({ description: 'Only this status', enum: USER_STATUSES, example: 'active' })
  @IsOptional()
  @IsIn(USER_STATUSES)
  status?: UserStatus;
}

export class UserPageDto {
  @ApiProperty({ type: [UserResponseDto], description: 'Accounts, newest first' })
  items: UserResponseDto[];

  @ApiProperty({ description: 'This page number', example: 1 })
  page: number;

  @ApiProperty({ description: 'Items per page', example: 20 })
  pageSize: number;

  @ApiProperty({ description: 'Matching accounts over all pages', example: 42 })
  total: number;
}

export class UpdateUserByAdminDto {
  @ApiPropertyOptional({ description: 'New role', enum: ROLES, example: 'vip_user' })
  @IsOptional()
  @IsIn(ROLES)
  role?: Role;

  @ApiPropertyOptional({ description: 'New status; disabled revokes every session of the account at once', enum: USER_STATUSES, example: 'disabled' })
  @IsOptional()
  @IsIn(USER_STATUSES)
  status?: UserStatus;
}

/** One account as admins see it: the owner's view plus the identity providers linked to it. */
export class AdminUserDto extends UserResponseDto {
  @ApiProperty({ type: [IdentityDto], description: 'Linked identity providers (contract §11)' })
  identities: IdentityDto[];
}
