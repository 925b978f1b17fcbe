import { execFile } from 'node:child_process';
import { closeSync, existsSync, fstatSync, openSync, readdirSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { Client } from '@elastic/elasticsearch';
import type { ChaosProcess } from './cluster.js';
import { rng } from './plan.js';

// The staging guide's own logrotate beside tta-carbon (issue #14): Debian's logrotate
// with /etc/logrotate.d/tta-staging's policy (daily, rotate 30, compress, delaycompress,
// create), forced every second or few (guideRotationMs) on a carbon.log of its own, read by a shipper of a
// second environment on the same queue. That shipper is killed and kept down across at
// least three rotations, several times: the copy it was reading is then gzipped with
// bytes unshipped, and copies it never saw are made and gzipped. Every line must be in
// Elasticsearch exactly once.

const exec = promisify(execFile);
const GUIDE_MARKER = /guide#(\d+)#/;

export interface GuideStats {
  written: number;
  rotations: number;
  kills: number;
  /** The fewest rotations during one of the shipper's downtimes. */
  minRotationsWhileDown: number;
}

/** The guide's `rotate 30`. */
export const GUIDE_KEEPS = 30;

/**
 * How often to force the guide's rotation. While the queue is full (an Elasticsearch
 * outage) every shipper is held back, and a copy logrotate deletes before it was read is
 * gone: its 30 copies are the longest the shipper may be held back. The real policy is
 * daily, 30 days; a run compressing days into seconds must still keep that horizon well
 * above its longest pause, so it rotates no faster than that allows.
 */
export function guideRotationMs(longestPauseMs: number): number {
  return Math.max(1000, Math.ceil((longestPauseMs * 1.5) / GUIDE_KEEPS / 1000) * 1000);
}

export class GuideLogrotate {
  readonly stats: GuideStats = { written: 0, rotations: 0, kills: 0, minRotationsWhileDown: Infinity };
  private readonly file: string;
  private readonly conf: string;
  private fd: number | null = null;
  private ino = -1;
  private stopped = false;

  constructor(
    readonly dir: string,
    private readonly seed: number,
  ) {
    this.file = join(dir, 'carbon.log');
    this.conf = join(dir, '..', 'tta-staging.logrotate');
  }

  async prepare(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o755 });
    writeFileSync(this.file, '');
    writeFileSync(
      this.conf,
      `${this.file} {\n    daily\n    rotate ${GUIDE_KEEPS}\n    compress\n    delaycompress\n    missingok\n    notifempty\n    create 0644 root root\n}\n`,
      { mode: 0o644 },
    );
  }

  /** Lines at `perSecond` (reopened after rotation, as WatchedFileHandler does), logrotate every `rotateMs`, and the kills. */
  async run(durationMs: number, perSecond: number, shipper: ChaosProcess, kills: number, rotateMs = 1000): Promise<void> {
    const end = Date.now() + durationMs;
    await Promise.all([this.write(end, perSecond), this.rotate(end, rotateMs), this.kill(end, shipper, kills)]);
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  stop(): void {
    this.stopped = true;
  }

  private async write(end: number, perSecond: number): Promise<void> {
    const started = Date.now();
    while (Date.now() < end && !this.stopped) {
      const due = Math.floor(((Date.now() - started) / 1000) * perSecond);
      let text = '';
      for (; this.stats.written < due; this.stats.written++) text += `INFO:guide:line guide#${this.stats.written}#\n`;
      if (text) {
        const current = existsSync(this.file) ? statSync(this.file).ino : -2;
        if (this.fd === null || current !== this.ino) {
          if (this.fd !== null) closeSync(this.fd);
          this.fd = openSync(this.file, 'a');
          this.ino = fstatSync(this.fd).ino;
        }
        writeSync(this.fd, text);
      }
      await sleep(20);
    }
  }

  private async rotate(end: number, everyMs: number): Promise<void> {
    while (Date.now() < end && !this.stopped) {
      await exec('logrotate', ['-f', '-s', join(this.dir, '..', 'logrotate.state'), this.conf]);
      this.stats.rotations++;
      await sleep(everyMs);
    }
  }

  private async kill(end: number, shipper: ChaosProcess, kills: number): Promise<void> {
    const random = rng(this.seed ^ 0x9e3779b9);
    const span = (end - Date.now()) * 0.8;
    const times = Array.from({ length: kills }, () => Date.now() + 2000 + random() * span).sort((a, b) => a - b);
    for (const at of times) {
      await sleep(Math.max(0, at - Date.now()));
      if (this.stopped) return;
      await shipper.kill9();
      const before = this.stats.rotations;
      while (this.stats.rotations - before < 3 && !this.stopped) await sleep(100);
      this.stats.minRotationsWhileDown = Math.min(this.stats.minRotationsWhileDown, this.stats.rotations - before);
      this.stats.kills++;
      await shipper.start();
    }
  }

  /**
   * Files logrotate renamed to carbon.log-YYYYMMDDHH.backup: the writer re-created
   * carbon.log between logrotate's rename and create (the shipper reads them too).
   */
  setAside(): number {
    return readdirSync(this.dir).filter((n) => n.endsWith('.backup')).length;
  }

  /** Lines missing and extra documents, by marker, in the guide environment's indices. */
  async verify(es: Client, prefix: string): Promise<{ lost: number; duplicated: number; total: number; missing: number[] }> {
    const seen = new Map<number, number>();
    let total = 0;
    await es.indices.refresh({ index: `${prefix}-*`, ignore_unavailable: true, allow_no_indices: true });
    let page = await es.search({ index: `${prefix}-2*`, scroll: '2m', size: 5000, query: { match_all: {} }, _source: ['message'] });
    while (page.hits.hits.length > 0) {
      for (const hit of page.hits.hits) {
        total++;
        const n = Number(GUIDE_MARKER.exec(String((hit._source as { message?: string }).message))?.[1]);
        seen.set(n, (seen.get(n) ?? 0) + 1);
      }
      page = await es.scroll({ scroll_id: page._scroll_id!, scroll: '2m' });
    }
    let lost = 0;
    let duplicated = 0;
    const missing: number[] = [];
    for (let i = 0; i < this.stats.written; i++) {
      const n = seen.get(i) ?? 0;
      if (n === 0) {
        lost++;
        if (missing.length < 10) missing.push(i);
      } else duplicated += n - 1;
    }
    return { lost, duplicated, total, missing };
  }

  /** Every line arrived (or `timeoutMs` passed). */
  async waitFor(es: Client, prefix: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      await es.indices.refresh({ index: `${prefix}-*`, ignore_unavailable: true, allow_no_indices: true }).catch(() => undefined);
      const n = (await es.count({ index: `${prefix}-2*`, ignore_unavailable: true, allow_no_indices: true }).catch(() => ({ count: 0 }))).count;
      if (n >= this.stats.written) return;
      await sleep(1000);
    }
  }
}
