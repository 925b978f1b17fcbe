import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { applyEnv, bindingFor, EnvValueError } from './env.js';
import { ConfigError } from './errors.js';
import { resolveDefaults } from './defaults.js';
import { configSchema, type Config } from './schema.js';

export interface LoadOptions {
  /** Path given with --config; falls back to TTA_CONFIG. No file means defaults + environment. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export function loadConfig(options: LoadOptions = {}): Config {
  const env = options.env ?? process.env;
  const file = options.file ?? (env.TTA_CONFIG || undefined);
  const raw = file ? readYaml(file) : {};
  let merged: Record<string, unknown>;
  try {
    merged = applyEnv(raw, env);
  } catch (err) {
    if (err instanceof EnvValueError) throw new ConfigError([err.message]);
    throw err;
  }
  const result = configSchema.safeParse(merged);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => describeIssue(issue, merged, env)),
      file,
    );
  }
  return absolutePaths(resolveDefaults(result.data), options.cwd ?? process.cwd());
}

function readYaml(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([`cannot read config file: ${(err as Error).message}`], file);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ConfigError([`not valid YAML: ${(err as Error).message}`], file);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new ConfigError(['the top level must be a mapping of keys to values'], file);
  }
  const forbidden = forbiddenKeys(doc);
  if (forbidden.length > 0)
    throw new ConfigError(
      forbidden.map((k) => `${k}: unknown key (no configuration key has this name)`),
      file,
    );
  return withoutNulls(doc as Record<string, unknown>);
}

// Keys that reach an object's prototype when a parser or a merge assigns them: the
// schema's unknown-key check never sees `__proto__` (it is no own key once assigned),
// so they are refused by name, at any depth, before anything is merged.
const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

function forbiddenKeys(node: unknown, path: string[] = []): string[] {
  if (node === null || typeof node !== 'object') return [];
  const out: string[] = [];
  for (const key of Object.keys(node)) {
    const here = [...path, key];
    if (PROTOTYPE_KEYS.has(key)) out.push(here.join('.'));
    else out.push(...forbiddenKeys((node as Record<string, unknown>)[key], here));
  }
  return out;
}

// A section whose keys are all commented out parses as null: it means "defaults".
function withoutNulls(obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (v === null) continue;
    out[k] = typeof v === 'object' && !Array.isArray(v) ? withoutNulls(v as Record<string, unknown>) : v;
  }
  return out;
}

function describeIssue(issue: z.core.$ZodIssue, merged: Record<string, unknown>, env: NodeJS.ProcessEnv): string {
  if (issue.code === 'unrecognized_keys') {
    const where = issue.path.length ? `${issue.path.join('.')}.` : '';
    return issue.keys.map((k) => `${where}${k}: unknown key (check the spelling against config/tta-carbon.example.yaml)`).join('\n');
  }
  const key = issue.path.join('.') || '(top level)';
  const binding = bindingFor(issue.path);
  const fromEnv = binding && env[binding.env] ? `${binding.env} (${key})` : key;
  const value = valueAt(merged, issue.path);
  const shown = value === undefined ? 'missing' : maskSecrets(key, JSON.stringify(value) ?? String(value));
  return `${fromEnv}: got ${shown}, ${issue.message}`;
}

/**
 * A config error must not print a credential to a terminal or a journal, whatever it
 * holds: the value of a credential key is never shown, and in any other value
 * everything between `//` and the last `@` of a URL-like word (user info, which may
 * contain `/`, `:` or `@` when written unencoded) is hidden.
 */
export function maskSecrets(key: string, shown: string): string {
  if (/password|passwd|apikey|api_key|secret|token|credential/i.test(key)) return '"<redacted>"';
  // An invalid URL cannot be parsed to find its user info reliably (a password may hold
  // spaces, quotes or "/"): one with an "@" anywhere is not shown at all.
  if (/url$/i.test(key) && shown.includes('@')) return '(a value not shown: it may hold credentials)';
  return shown.replace(/\/\/\S*@/g, '//<redacted>@');
}

function valueAt(obj: unknown, path: readonly PropertyKey[]): unknown {
  let node: unknown = obj;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}

// Relative paths are taken from the working directory, like every other CLI the
// operator uses, so `npm start` can point at ./var/log/tta/staging without root.
function absolutePaths(config: Config, cwd: string): Config {
  const abs = (p: string) => resolve(cwd, p);
  return {
    ...config,
    logDir: abs(config.logDir),
    codecarbonDir: abs(config.codecarbonDir),
    dataDir: abs(config.dataDir),
    elasticsearch: {
      ...config.elasticsearch,
      caFile: config.elasticsearch.caFile && abs(config.elasticsearch.caFile),
    },
    rotation: {
      policies: config.rotation.policies.map((p) => ({ ...p, files: abs(p.files) })),
      archive: { ...config.rotation.archive, dir: abs(config.rotation.archive.dir) },
    },
    shipper: {
      ...config.shipper,
      inputs: config.shipper.inputs.map((input) => ({ ...input, paths: input.paths.map(abs) })),
    },
  };
}
