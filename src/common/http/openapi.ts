import { applyDecorators, Type } from '@nestjs/common';
import { ApiExtraModels, ApiProperty, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import { ErrorEntry } from '../errors';

export class FieldProblemDto {
  @ApiProperty({ description: 'The offending field (dotted path)', example: 'email' })
  field: string;

  @ApiProperty({ description: 'What is wrong with it', example: 'email must be a valid address' })
  message: string;
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

/** The success envelope with `data` exactly as given. */
function envelopeSchema(status: number, data: object) {
  return {
    type: 'object',
    required: ['code', 'data', 'msg'],
    properties: {
      code: { type: 'integer', enum: [status], description: 'Always equals the HTTP status', example: status },
      data,
      msg: { type: 'string', description: 'Human-readable message, localised by Accept-Language (en, zh-CN)', example: 'OK' },
    },
  };
}

/**
 * Documents a success response as the envelope around `model` (or `{}` when model is null).
 * Each operation gets its own envelope schema, `data` being exactly its model: an `allOf` with a
 * shared base whose `data` was any object let generated clients accept `res.data.acessToken`.
 */
export function ApiEnvelope(model: Type<unknown> | null, options: { status?: number; description: string; isArray?: boolean }) {
  const status = options.status ?? 200;
  const data = model
    ? options.isArray
      ? { type: 'array', items: { $ref: getSchemaPath(model) } }
      : { $ref: getSchemaPath(model) }
    : { type: 'object', additionalProperties: false, example: {}, description: 'Nothing to return' };
  return applyDecorators(ApiExtraModels(...(model ? [model] : [])), ApiResponse({ status, description: options.description, schema: envelopeSchema(status, data) }));
}

/**
 * Documents a success response whose data is one of several models, told apart by `propertyName`
 * (`mapping`: its value, as a string, to the model), so generated clients can narrow the union.
 */
export function ApiEnvelopeOneOf(mapping: Record<string, Type<unknown>>, propertyName: string, options: { status?: number; description: string }) {
  const status = options.status ?? 200;
  const models = Object.values(mapping);
  const data = {
    oneOf: models.map((model) => ({ $ref: getSchemaPath(model) })),
    discriminator: { propertyName, mapping: Object.fromEntries(Object.entries(mapping).map(([value, model]) => [value, getSchemaPath(model)])) },
  };
  return applyDecorators(ApiExtraModels(...models), ApiResponse({ status, description: options.description, schema: envelopeSchema(status, data) }));
}

const DOCUMENTED_ERRORS = 'uc:documented-errors';

/**
 * Documents the error responses a route can give, grouped by status, each code listed. Several
 * ApiErrors on one route (its own and those of @Auth) add up: a status keeps every code named for it.
 */
export function ApiErrors(...entries: ErrorEntry[]): MethodDecorator & ClassDecorator {
  return (target: object, key?: string | symbol, descriptor?: PropertyDescriptor) => {
    const holder = (descriptor?.value ?? target) as object;
    const named: ErrorEntry[] = [...((Reflect.getMetadata(DOCUMENTED_ERRORS, holder) as ErrorEntry[] | undefined) ?? []), ...entries];
    Reflect.defineMetadata(DOCUMENTED_ERRORS, named, holder);
    const statuses = new Set(entries.map((entry) => entry.status));
    const byStatus = new Map<number, ErrorEntry[]>();
    for (const entry of named) {
      const group = byStatus.get(entry.status) ?? [];
      if (statuses.has(entry.status) && !group.some((known) => known.code === entry.code)) byStatus.set(entry.status, [...group, entry]);
    }
    applyDecorators(
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
    )(target as never, key as string, descriptor as never);
  };
}
