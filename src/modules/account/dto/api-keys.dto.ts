import { ApiProperty, ApiPropertyOptional, PickType } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min, MinLength } from 'class-validator';
import { API_KEY_SCOPES, ApiKeyScope } from '../api-key-scopes';
import type { ApiKey } from '../api-key.entity';

export const DEFAULT_KEY_DAYS = 90;

export class CreateApiKeyDto {
  @ApiProperty({ description: 'A name to tell your keys apart (1-64 characters)', example: 'backup script', minLength: 1, maxLength: 64 })
  @IsString()
  @MinLength(1)
  @MaxLength(64)
  @Matches(/^[^\p{Cc}\p{Cf}]+$/u, { message: 'name must not contain control or format characters' })
  name: string;

  @ApiProperty({ description: 'What the key may do: read and/or change your profile (GET and PATCH /users/me, the avatar). Nothing else is reachable with a key.', enum: API_KEY_SCOPES, isArray: true, example: ['profile:read'] })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(API_KEY_SCOPES.length)
  @IsIn(API_KEY_SCOPES, { each: true })
  scopes: ApiKeyScope[];

  @ApiPropertyOptional({ description: 'Days until the key expires', minimum: 1, maximum: 365, default: DEFAULT_KEY_DAYS, example: 30 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(365)
  expiresInDays?: number;
}

export class ApiKeyViewDto {
  @ApiProperty({ description: 'Id of the key (to delete it)', example: '0b6f1c9e-2f7a-4c1e-9a8b-3d2e1f0a9b8c' })
  id: string;

  @ApiProperty({ description: 'The name given at creation', example: 'backup script' })
  name: string;

  @ApiProperty({ description: 'What the key may do', enum: API_KEY_SCOPES, isArray: true, example: ['profile:read'] })
  scopes: ApiKeyScope[];

  @ApiProperty({ description: 'After this instant the key is refused (401 API_KEY_INVALID)', example: '2027-03-02T08:00:00.000Z' })
  expiresAt: string;

  @ApiProperty({ type: String, nullable: true, description: 'Last use, to the minute', example: '2026-12-02T08:00:00.000Z' })
  lastUsedAt: string | null;

  @ApiProperty({ description: 'When the key was made', example: '2026-12-02T08:00:00.000Z' })
  createdAt: string;
}

export class ApiKeyListDto {
  @ApiProperty({ type: [ApiKeyViewDto], description: 'Your keys, newest first, expired ones included; never the secret' })
  items: ApiKeyViewDto[];
}

export class CreatedApiKeyDto extends PickType(ApiKeyViewDto, ['id', 'name', 'scopes', 'expiresAt'] as const) {
  @ApiProperty({ description: 'The key itself, shown only this once; send it as X-API-Key', example: 'ucp_3q2-7wEAAAB...' })
  apiKey: string;
}

/** The owner's view of a key: never its hash, never the secret. */
export function toApiKeyView(key: ApiKey): ApiKeyViewDto {
  return {
    id: key.id,
    name: key.name,
    scopes: key.scopes,
    expiresAt: key.expiresAt.toISOString(),
    lastUsedAt: key.lastUsedAt?.toISOString() ?? null,
    createdAt: key.createdAt.toISOString(),
  };
}
