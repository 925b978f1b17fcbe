import type { Logger } from '../common/logging/logger.js';

export interface Stoppable {
  stop(): Promise<void>;
}

/**
 * The life of a long-running command. Signal handlers are installed before any role
 * starts: a SIGTERM during start-up (systemd stopping a unit that is still connecting)
 * stops what has started, and a role that starts after it is stopped at once. A role
 * that fails to start stops the ones already running before the error is reported, so
 * no half-started process lingers. Past `deadlineMs` after a signal the process exits
 * whatever is still pending: a stuck open or read in the thread pool would otherwise
 * keep it alive after systemd's stop timeout.
 */
export class Lifecycle {
  private readonly parts: Stoppable[] = [];
  private signalled: string | null = null;
  private stopping: Promise<number> | null = null;
  private resolveDone!: (code: number) => void;
  readonly done = new Promise<number>((resolve) => (this.resolveDone = resolve));

  constructor(
    private readonly logger: Logger,
    private readonly deadlineMs = 30_000,
    private readonly exit: (code: number) => void = (code) => process.exit(code),
  ) {
    process.once('SIGTERM', () => this.onSignal('SIGTERM'));
    process.once('SIGINT', () => this.onSignal('SIGINT'));
    // `systemctl reload`: finish cleanly and exit 0; systemd (Restart=always) starts the
    // process again, which then reads the new configuration.
    process.once('SIGHUP', () => this.onSignal('SIGHUP (reload: restarting with the new configuration)'));
  }

  /** Starts a part; it is stopped with the others, or at once if a signal came first. */
  async start<T extends Stoppable>(starting: Promise<T>): Promise<T> {
    let part: T;
    try {
      part = await starting;
    } catch (err) {
      await this.stopAll();
      throw err;
    }
    this.parts.push(part);
    if (this.signalled) await part.stop().catch((err) => this.logger.error({ err }, 'stop failed'));
    return part;
  }

  private onSignal(signal: string): void {
    if (this.signalled) return;
    this.signalled = signal;
    this.logger.info({ signal }, 'stopping');
    const timer = setTimeout(() => {
      this.logger.error({ deadlineMs: this.deadlineMs }, 'shutdown deadline passed; exiting anyway');
      this.resolveDone(1);
      this.exit(1);
    }, this.deadlineMs);
    timer.unref();
    void this.stopAll().then((code) => {
      clearTimeout(timer);
      this.resolveDone(code);
    });
  }

  private stopAll(): Promise<number> {
    this.stopping ??= Promise.all(this.parts.map((p) => p.stop())).then(
      () => 0,
      (err) => {
        this.logger.error({ err }, 'shutdown failed');
        return 1;
      },
    );
    return this.stopping;
  }
}
