import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Matches, MaxLength, MinLength } from 'class-validator';

export class ProviderDto {
  @ApiProperty({ description: 'Provider id, as in the routes', example: 'corp' })
  id: string;

  @ApiProperty({ description: 'Name to show on the button', example: 'Corporate sign-in' })
  name: string;

  @ApiProperty({ description: 'Protocol family', enum: ['oidc', 'github', 'wechat'], example: 'oidc' })
  kind: string;
}

export class ProviderListDto {
  @ApiProperty({ type: [ProviderDto], description: 'Enabled providers, in the order of OAUTH_PROVIDERS' })
  items: ProviderDto[];
}

export class LinkUrlRequestDto {
  @ApiProperty({ description: 'Where the browser returns after the provider; must equal an entry of OAUTH_REDIRECT_URIS exactly', example: 'https://app.example.com/oauth/done' })
  @IsString()
  @MaxLength(2048)
  redirectUri: string;
}

/** The sign-in flavour: also takes the registration key, for operators who set one. */
export class AuthorizationUrlRequestDto extends LinkUrlRequestDto {
  @ApiPropertyOptional({ description: 'When the operator set REGISTRATION_KEY: the key, so an unknown identity may create an account (checked now)', example: 'spring-invite-2026' })
  @IsOptional()
  @IsString()
  @MaxLength(256)
  registrationKey?: string;
}

export class AuthorizationUrlDto {
  @ApiProperty({ description: "The provider's authorization URL to send the browser to", example: 'https://id.example.com/authorize?response_type=code&client_id=...' })
  url: string;
}

export class ExchangeDto {
  @ApiProperty({ description: 'The one-time `result` the callback appended to redirectUri (single use, 60 s)', example: 'Qm9vdHN0cmFwcGVkIHJlc3VsdCBjb2RlIGV4YW1wbGU' })
  @IsString()
  @MinLength(16)
  @MaxLength(128)
  @Matches(/^[A-Za-z0-9_-]+$/, { message: 'result must be the value the callback gave' })
  result: string;
}

export class IdentityDto {
  @ApiProperty({ description: 'Provider id', example: 'corp' })
  provider: string;

  @ApiProperty({ description: "The provider's id for the person", example: '248289761001' })
  subject: string;

  @ApiProperty({ description: 'The email the provider reported when linked (informational; never used to match accounts)', nullable: true, type: String, example: 'alice@example.com' })
  email: string | null;

  @ApiProperty({ description: 'When it was linked (ISO 8601 UTC)', example: '2026-12-01T08:00:00.000Z' })
  linkedAt: string;
}

export class IdentityListDto {
  @ApiProperty({ type: [IdentityDto], description: 'Linked identities, oldest first' })
  items: IdentityDto[];
}
