/** A local service could not be brought up: `what` went wrong, `fix` says how to mend it. */
export class ServiceStartError extends Error {
  constructor(
    readonly service: string,
    readonly what: string,
    readonly fix: string,
  ) {
    super(`${service}: ${what}\n  how to fix: ${fix}`);
    this.name = 'ServiceStartError';
  }
}
