import { randomUUID } from 'node:crypto';
import type { Test } from 'supertest';
import type { TestApp } from './test-app';

export interface OpenApiSchema {
  type?: string;
  properties?: Record<string, OpenApiSchema>;
  $ref?: string;
  allOf?: OpenApiSchema[];
}

export interface DocumentedOperation {
  method: string;
  /** The documented path, `{id}` placeholders and all. */
  path: string;
  /** The JSON request body's schema with `$ref`s resolved, when the operation takes one. */
  body?: OpenApiSchema;
}

function resolved(schema: OpenApiSchema | undefined, components: Record<string, OpenApiSchema>): OpenApiSchema | undefined {
  if (!schema) return undefined;
  if (schema.$ref) return resolved(components[schema.$ref.split('/').pop()!], components);
  if (schema.allOf) {
    const parts = schema.allOf.map((part) => resolved(part, components) ?? {});
    return parts.reduce((merged, part) => ({ ...merged, ...part, properties: { ...merged.properties, ...part.properties } }), {} as OpenApiSchema);
  }
  return schema;
}

/** Every operation the OpenAPI document describes. */
export async function documentedOperations(t: TestApp): Promise<DocumentedOperation[]> {
  const doc = (await t.http.get('/docs-json').expect(200)).body;
  const components: Record<string, OpenApiSchema> = doc.components?.schemas ?? {};
  type Op = { requestBody?: { content?: Record<string, { schema?: OpenApiSchema }> } };
  return Object.entries<Record<string, Op>>(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({ method, path, body: resolved(op.requestBody?.content?.['application/json']?.schema, components) })),
  );
}

/** The router's routes in the documented spelling (`:id` → `{id}`), as `METHOD path`. */
export function routeTable(t: TestApp, prefix = '/'): string[] {
  return t.routes.filter((route) => route.url.startsWith(prefix)).map((route) => `${route.method.toLowerCase()} ${route.url.replace(/:(\w+)/g, '{$1}')}`);
}

/** A request to `path`, every `{param}` filled with a fresh UUID. */
export function callOperation(t: TestApp, op: { method: string; path: string }): Test {
  const url = op.path.replace(/\{[^}]+\}/g, () => randomUUID());
  return (t.http as unknown as Record<string, (url: string) => Test>)[op.method](url);
}
