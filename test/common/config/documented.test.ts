import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ENV_BINDINGS } from '../../../src/common/config/env.js';
import { configSchema } from '../../../src/common/config/schema.js';

// Issue #14: every key and variable is where an operator looks for it.
const example = readFileSync('config/tta-carbon.example.yaml', 'utf8');
const readme = readFileSync('README.md', 'utf8');

function keys(shape: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(shape).flatMap(([key, schema]) => {
    const inner = schema as { unwrap?: () => unknown; def?: { innerType?: unknown; shape?: unknown } };
    let s: any = inner;
    while (s?.def?.innerType) s = s.def.innerType;
    const nested = s?.def?.shape as Record<string, unknown> | undefined;
    return [`${prefix}${key}`, ...(nested && key !== 'rotation' ? keys(nested, `${prefix}${key}.`) : [])];
  });
}

describe('configuration is documented', () => {
  it('the example file names every key of the schema', () => {
    const missing = keys(configSchema.shape).filter((k) => !new RegExp(`^\\s*#?\\s*${k.split('.').pop()}:`, 'm').test(example));
    expect(missing).toEqual([]);
  });

  it('the README names every environment variable', () => {
    expect(ENV_BINDINGS.map((b) => b.env).filter((v) => !readme.includes(`\`${v}\``))).toEqual([]);
  });
});
