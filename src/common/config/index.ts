export { loadConfig, type LoadOptions } from './load.js';
export { ConfigError } from './errors.js';
export { ENV_BINDINGS } from './env.js';
export type { Config, ConfigInput, InputConfig, RotationPolicy } from './schema.js';
export { defaultIndexPrefix, ENVIRONMENT_NAME } from './schema.js';
