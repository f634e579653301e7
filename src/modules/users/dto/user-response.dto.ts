import { ApiProperty, PickType } from '@nestjs/swagger';
import { ROLES, Role, User, USER_STATUSES, UserStatus } from '../user.entity';

/** The account as its owner and admins see it. Built only by toUserResponse: a new column cannot leak. */
export class UserResponseDto {
  @ApiProperty({ description: 'Opaque account id', example: '5f0c6c1e-8a55-4d5c-9a55-6b1f0c9a1e11' })
  id: string;

  @ApiProperty({ description: 'Unique user name (5-32 letters, digits, _ . -)', example: 'alice_01' })
  username: string;

  @ApiProperty({ description: 'Name shown to others', example: 'Alice', nullable: true, type: String })
  displayName: string | null;

  @ApiProperty({ description: 'Email address', example: 'alice@example.com', nullable: true, type: String })
  email: string | null;

  @ApiProperty({ description: 'Whether the email was proven with a code', example: false })
  emailVerified: boolean;

  @ApiProperty({ description: 'Phone number in E.164', example: '+8613800138000', nullable: true, type: String })
  phone: string | null;

  @ApiProperty({ description: 'Role', enum: ROLES, example: 'normal_user' })
  role: Role;

  @ApiProperty({ description: 'Account status', enum: USER_STATUSES, example: 'active' })
  status: UserStatus;

  @ApiProperty({ description: 'Short self-introduction', example: 'I build things.', nullable: true, type: String })
  intro: string | null;

  @ApiProperty({ description: 'GitHub user name', example: 'alice', nullable: true, type: String })
  github: string | null;

  @ApiProperty({ description: 'School', example: 'Tsinghua University', nullable: true, type: String })
  school: string | null;

  @ApiProperty({ description: 'Personal web site', example: 'https://alice.example.com', nullable: true, type: String })
  website: string | null;

  @ApiProperty({ description: 'Avatar URL', example: '/api/v1/avatars/3f2a9c.webp', nullable: true, type: String })
  avatarUrl: string | null;

  @ApiProperty({ description: 'Whether a real-name (ID card) check succeeded', example: false })
  realNameVerified: boolean;

  @ApiProperty({ description: 'When the account was created (ISO 8601 UTC)', example: '2026-01-01T08:00:00.000Z' })
  createdAt: string;

  @ApiProperty({ description: 'When the account last changed (ISO 8601 UTC)', example: '2026-01-02T08:00:00.000Z' })
  updatedAt: string;
}

/** What anyone may see of an account: a subset of the own view, so the two cannot drift apart. No role: it would tell who is an admin (contract §13). */
export class PublicProfileDto extends PickType(UserResponseDto, [
  'username',
  'displayName',
  'intro',
  'github',
  'school',
  'website',
  'avatarUrl',
  'createdAt',
] as const) {}

export type AvatarUrlOf = (avatarKey: string | null) => string | null;

export function toUserResponse(user: User, avatarUrl: AvatarUrlOf): UserResponseDto {
  return {
    id: user.id,
    username: user.username,
    displayName: user.displayName,
    email: user.email,
    emailVerified: !!user.emailVerified,
    phone: user.phone,
    role: user.role,
    status: user.status,
    intro: user.intro,
    github: user.github,
    school: user.school,
    website: user.website,
    avatarUrl: avatarUrl(user.avatarKey),
    realNameVerified: !!user.realNameVerified,
    createdAt: new Date(user.createdAt).toISOString(),
    updatedAt: new Date(user.updatedAt).toISOString(),
  };
}

export function toPublicProfile(user: UserResponseDto): PublicProfileDto {
  const { username, displayName, intro, github, school, website, avatarUrl, createdAt } = user;
  return { username, displayName, intro, github, school, website, avatarUrl, createdAt };
}
