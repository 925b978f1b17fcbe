/** Invalid configuration: the CLI prints the problems and exits 2. */
export class ConfigError extends Error {
  constructor(
    readonly problems: string[],
    readonly file?: string,
  ) {
    super(`invalid configuration${file ? ` in ${file}` : ''}:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}
