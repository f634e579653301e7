import { ApiProperty } from '@nestjs/swagger';

export class HealthChecksDto {
  @ApiProperty({ description: 'The database answers SELECT 1 within HEALTH_TIMEOUT_MS', enum: ['up', 'down'], example: 'up' })
  database: 'up' | 'down';

  @ApiProperty({ description: 'The shared store (Redis, or the in-process store) answers PING within HEALTH_TIMEOUT_MS', enum: ['up', 'down'], example: 'up' })
  cache: 'up' | 'down';
}

export class LivenessDto {
  @ApiProperty({ description: 'Always "ok": the process is running and serving HTTP', example: 'ok' })
  status: 'ok';
}

export class ReadinessDto {
  @ApiProperty({ description: 'Always "ok" on a 200 answer', example: 'ok' })
  status: 'ok';

  @ApiProperty({ type: HealthChecksDto, description: 'Each dependency checked' })
  checks: HealthChecksDto;
}
