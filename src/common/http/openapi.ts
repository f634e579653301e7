import { applyDecorators, Type } from '@nestjs/common';
import { ApiExtraModels, ApiProperty, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import { ErrorEntry } from '../errors';

export class FieldProblemDto {
  @ApiProperty({ description: 'The offending field (dotted path)', example: 'email' })
  field: string;

  @ApiProperty({ description: 'What is wrong with it', example: 'email must be a valid address' })
  message: string;
}

export class SuccessEnvelopeDto {
  @ApiProperty({ description: 'Always equals the HTTP status', example: 200 })
  code: number;

  @ApiProperty({ description: 'The payload; {} when there is nothing to return', type: 'object', additionalProperties: true })
  data: object;

  @ApiProperty({ description: 'Human-readable message, localised by Accept-Language (en, zh-CN)', example: 'OK' })
  msg: string;
}

export class ErrorEnvelopeDto {
  @ApiProperty({ description: 'Always equals the HTTP status', example: 409 })
  code: number;

  @ApiProperty({ description: 'Human-readable message, localised by Accept-Language (en, zh-CN)', example: 'Username is already taken' })
  msg: string;

  @ApiProperty({ description: 'Stable machine-readable code from the error catalog (the full list is set when the document is built)', example: 'USERNAME_TAKEN' })
  error: string;

  @ApiProperty({ description: 'Id of this request (also in the X-Request-Id header); quote it when reporting a problem', example: 'b0f7c5d2-6c1e-4b8e-9f53-0d1c2b3a4f5e' })
  requestId: string;

  @ApiProperty({ description: 'Field problems (VALIDATION_FAILED only)', type: [FieldProblemDto], required: false })
  details?: FieldProblemDto[];
}

/** Documents a success response as the envelope around `model` (or `{}` when model is null). */
export function ApiEnvelope(model: Type<unknown> | null, options: { status?: number; description: string; isArray?: boolean }) {
  const data = model
    ? options.isArray
      ? { type: 'array', items: { $ref: getSchemaPath(model) } }
      : { $ref: getSchemaPath(model) }
    : { type: 'object', additionalProperties: false, example: {} };
  return applyDecorators(
    ApiExtraModels(SuccessEnvelopeDto, ...(model ? [model] : [])),
    ApiResponse({
      status: options.status ?? 200,
      description: options.description,
      schema: { allOf: [{ $ref: getSchemaPath(SuccessEnvelopeDto) }, { type: 'object', required: ['data'], properties: { data } }] },
    }),
  );
}

/** Documents the error responses a route can give, grouped by status, each code listed. */
export function ApiErrors(...entries: ErrorEntry[]) {
  const byStatus = new Map<number, ErrorEntry[]>();
  for (const entry of entries) byStatus.set(entry.status, [...(byStatus.get(entry.status) ?? []), entry]);
  return applyDecorators(
    ApiExtraModels(ErrorEnvelopeDto, FieldProblemDto),
    ...[...byStatus].map(([status, group]) =>
      ApiResponse({
        status,
        description: group.map((entry) => `\`${entry.code}\`: ${entry.message.en}`).join('; '),
        schema: {
          allOf: [
            { $ref: getSchemaPath(ErrorEnvelopeDto) },
            { type: 'object', properties: { code: { type: 'integer', enum: [status] }, error: { type: 'string', enum: group.map((entry) => entry.code) } } },
          ],
        },
      }),
    ),
  );
}
