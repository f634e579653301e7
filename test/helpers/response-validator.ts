import Ajv, { ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

interface Operation {
  responses?: Record<string, { content?: Record<string, { schema?: object }> }>;
}
type Document = { paths: Record<string, Record<string, Operation>>; components?: { schemas?: Record<string, object> } };

/**
 * Checks every answer the test app gives against the OpenAPI document: the status must be
 * documented for the route, and a JSON body must match that status's schema. So the document
 * cannot drift from what the server sends — error answers included.
 */
export class ResponseValidator {
  readonly problems: string[] = [];
  private readonly ajv = new Ajv({ strict: false, allErrors: true });
  private readonly compiled = new Map<string, ValidateFunction | null>();

  constructor(private readonly document: Document) {
    addFormats(this.ajv);
  }

  check(method: string, routeTemplate: string | undefined, status: number, contentType: string, body: string): void {
    if (!routeTemplate) return; // no route matched: the 404 is the router's, not an operation's
    const path = routeTemplate.replace(/:(\w+)/g, '{$1}');
    const operation = this.document.paths[path]?.[method.toLowerCase()];
    if (!operation) return; // Swagger UI's own assets and other undocumented plumbing
    const where = `${method} ${path} → ${status}`;
    const response = operation.responses?.[String(status)];
    if (!response) {
      this.problems.push(`${where}: status not documented (${body.slice(0, 160)})`);
      return;
    }
    if (!contentType.includes('application/json')) return; // binary answers: the content type is the contract
    const validate = this.validatorFor(`${method} ${path} ${status}`, response.content?.['application/json']?.schema);
    if (!validate) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      this.problems.push(`${where}: body is not JSON`);
      return;
    }
    if (!validate(parsed)) this.problems.push(`${where}: ${this.ajv.errorsText(validate.errors, { separator: '; ' })}`);
    // The contract: an envelope's `code` always equals the HTTP status, for successes (200, 201, 202) as for errors.
    const code = (parsed as { code?: unknown } | null)?.code;
    if (code !== undefined && code !== status) this.problems.push(`${where}: envelope code ${String(code)} differs from the status`);
  }

  private validatorFor(key: string, schema: object | undefined): ValidateFunction | null {
    if (!this.compiled.has(key)) {
      this.compiled.set(key, schema ? this.ajv.compile({ ...schema, components: this.document.components }) : null);
    }
    return this.compiled.get(key)!;
  }
}
