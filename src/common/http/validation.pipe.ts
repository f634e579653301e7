import { ArgumentMetadata, Injectable, ValidationError, ValidationPipe } from '@nestjs/common';
import { AppException, CommonErrors, FieldProblem } from '../errors';

/** Contract §13: an error answer lists at most this many field problems, however many there are. */
export const MAX_VALIDATION_DETAILS = 20;

/** The field problems in document order, at most `limit`; a loop with its own stack, never recursion. */
function flatten(errors: ValidationError[], limit = MAX_VALIDATION_DETAILS): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const pending: { error: ValidationError; parent: string }[] = errors.map((error) => ({ error, parent: '' })).reverse();
  while (pending.length && problems.length < limit) {
    const { error, parent } = pending.pop()!;
    const field = parent ? `${parent}.${error.property}` : error.property;
    for (const message of Object.values(error.constraints ?? {})) {
      if (problems.length === limit) break;
      problems.push({ field, message });
    }
    const children = error.children ?? [];
    for (let i = children.length - 1; i >= 0; i--) pending.push({ error: children[i], parent: field });
  }
  return problems;
}

/**
 * Validates DTOs strictly: unknown fields are refused (never silently stored) and a body that
 * is not a JSON object (an array, a string, null) is refused before class-transformer sees it.
 */
@Injectable()
export class StrictValidationPipe extends ValidationPipe {
  constructor() {
    super({
      whitelist: true,
      forbidNonWhitelisted: true,
      forbidUnknownValues: true,
      transform: true,
      transformOptions: { enableImplicitConversion: false },
      validationError: { target: false, value: false },
      exceptionFactory: (errors) => new AppException(CommonErrors.VALIDATION_FAILED, { details: flatten(errors) }),
    });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const isDto = this.toValidate(metadata);
    if (isDto && (metadata.type === 'body' || metadata.type === 'query')) {
      if (value === undefined && metadata.type === 'body') value = {};
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        throw new AppException(CommonErrors.VALIDATION_FAILED, {
          details: [{ field: metadata.type, message: `the ${metadata.type} must be a JSON object` }],
        });
      }
    }
    return super.transform(value, metadata);
  }
}
