import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');
const documentPath = join(root, 'clients/typescript/openapi.json');

describe('The committed OpenAPI document', () => {
  const doc = JSON.parse(readFileSync(documentPath, 'utf8')) as {
    paths: Record<string, Record<string, { tags?: string[] }>>;
    components: { schemas: Record<string, { properties?: Record<string, { description?: string; example?: unknown; $ref?: string; items?: unknown; allOf?: unknown; type?: string }> }> };
  };

  it('lints with zero errors (redocly, offline)', () => {
    const result = spawnSync(process.execPath, [require.resolve('@redocly/cli/bin/cli.js'), 'lint', documentPath, '--config', 'redocly.yaml', '--format=summary'], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
    });
    expect(result.stdout + result.stderr).toContain('Your API description is valid');
    expect(result.status).toBe(0);
  }, 60_000);

  it('gives every DTO field a description and an example (nested objects: a description)', () => {
    const missing: string[] = [];
    for (const [name, schema] of Object.entries(doc.components.schemas)) {
      for (const [field, property] of Object.entries(schema.properties ?? {})) {
        const nested = property.$ref || property.allOf || property.items || property.type === 'object';
        if (!property.description) missing.push(`${name}.${field}: description`);
        if (property.example === undefined && !nested) missing.push(`${name}.${field}: example`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('groups every route under a known tag', () => {
    const known = ['Auth', 'Users', 'Verification', 'Avatar', 'Real name', 'Admin', 'Internal', 'Operations'];
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) expect([path, method, op.tags?.every((tag) => known.includes(tag)) && op.tags.length > 0]).toEqual([path, method, true]);
    }
  });
});
