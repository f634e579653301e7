import { ApiProperty } from '@nestjs/swagger';

export class AvatarResponseDto {
  @ApiProperty({
    description: 'URL of the new avatar (256×256 WebP). The 64×64 version has the same URL with "-64" before ".webp".',
    example: '/api/v1/avatars/3f2a9c0d4b1e8a7f6c5d4e3f2a1b0c9d.webp',
  })
  avatarUrl: string;
}
