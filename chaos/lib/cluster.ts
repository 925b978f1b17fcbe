import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createInterface } from 'node:readline';
import { elasticsearchDown, elasticsearchUp, type LocalElasticsearch } from '../../src/services/elasticsearch-server.js';
import { redisDown, redisUp, type LocalRedis } from '../../src/services/redis-server.js';

// The chaos run's own Redis and Elasticsearch (their own ports and data, so stopping
// them never touches anything else) and the tta-carbon processes, each its own OS
// process, restartable, with its peak RSS tracked across restarts.

export type Role = 'shipper' | 'worker' | 'scheduler';

export interface ChaosServices {
  redis: LocalRedis;
  es: LocalElasticsearch;
}

export function chaosServices(servicesDir: string): ChaosServices {
  return {
    redis: { url: 'redis://127.0.0.1:6395', dir: join(servicesDir, 'redis-chaos') },
    es: {
      url: 'http://127.0.0.1:9260',
      dir: join(servicesDir, 'elasticsearch-chaos'),
      distDir: join(servicesDir, 'elasticsearch'),
      heapMb: 512,
      runAsUser: 'tta-es',
      startTimeoutMs: 180_000,
    },
  };
}

export async function servicesStart(s: ChaosServices): Promise<void> {
  await redisUp(s.redis);
  await elasticsearchUp(s.es);
}

export async function servicesStop(s: ChaosServices): Promise<void> {
  await redisDown(s.redis.dir).catch(() => undefined);
  await elasticsearchDown(s.es.dir).catch(() => undefined);
}

/** Log messages the report counts: how often the fleet lived through each kind of trouble. */
export const TALLIED = ['batch stalled', 'batch given up', 'batch not queued'] as const;

export class ChaosProcess {
  child: ChildProcess | null = null;
  peakRssMb = 0;
  restarts = 0;
  /** Exits nobody asked for: each one is a finding. */
  readonly crashes: string[] = [];
  private expectingExit = false;
  /** Environment over the constructor's for the next starts (another host, say). */
  private override: NodeJS.ProcessEnv = {};
  private log = '';
  /** Over every start: the kept log is only the tail of the last ones. */
  private readonly tallies = new Map<(typeof TALLIED)[number], number>();
  private sampler: NodeJS.Timeout | null = null;
  /** The tta-carbon process under a zombie parent. */
  private innerPid: number | undefined;

  constructor(
    readonly name: string,
    private readonly role: Role,
    private readonly configFile: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  /**
   * `zombieParent`: under a parent that never reaps it (Python's Popen, never waited on),
   * so that killed it stays <defunct> with its pid taken, as under a PID 1 that does not
   * reap. The pid is then the tta-carbon process's, not the parent's.
   */
  async start({ zombieParent = false } = {}): Promise<void> {
    const argv = [process.execPath, 'bin/tta-carbon.js', '--config', this.configFile, this.role];
    const [cmd, ...args] = zombieParent
      ? ['python3', '-c', 'import subprocess, sys, time\np = subprocess.Popen(sys.argv[1:])\nprint(p.pid, flush=True)\ntime.sleep(86400)', ...argv]
      : argv;
    const child = spawn(cmd!, args, {
      env: { ...process.env, ...this.env, ...this.override },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.innerPid = undefined;
    if (zombieParent) {
      const first = await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve));
      this.innerPid = Number(first);
    }
    this.expectingExit = false;
    child.once('exit', (code, sig) => {
      if (!this.expectingExit) this.crashes.push(`${this.name} exited by itself (code ${code}, signal ${sig})`);
    });
    const keep = (d: Buffer) => (this.log = (this.log + d).slice(-400_000));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      for (const msg of TALLIED) if (line.includes(`"msg":"${msg}`)) this.tallies.set(msg, this.tally(msg) + 1);
    });
    this.sampler ??= setInterval(() => void this.sample(), 500);
    const ready = this.role === 'shipper' ? 'shipper started' : this.role === 'worker' ? 'worker started' : 'scheduler started';
    const deadline = Date.now() + 120_000;
    // Only this process's own output, however much of it there is.
    let seen = '';
    child.stdout!.on('data', (d: Buffer) => {
      if (seen.length < 1_000_000) seen += d;
    });
    while (!seen.includes(ready)) {
      if (child.exitCode !== null) throw new Error(`${this.name} exited with ${child.exitCode}:\n${this.log.slice(-3000)}`);
      if (seen.length >= 1_000_000) break;
      if (Date.now() > deadline) throw new Error(`${this.name} did not start:\n${this.log.slice(-3000)}`);
      await sleep(50);
    }
  }

  /** kill -9, then a fresh process, as systemd's Restart=always would. */
  async crashAndRestart(): Promise<void> {
    await this.kill9();
    await this.start();
  }

  /** Started again as another machine would start it: its own host name and data dir. */
  async startElsewhere(host: string): Promise<void> {
    // Beside the run's own data dir, so that it goes with the run.
    this.override = { TTA_HOST_NAME: host, TTA_DATA_DIR: `${this.env.TTA_DATA_DIR}-${host}` };
    await this.start();
  }

  /** kill -9 alone; start() brings it back. */
  async kill9(): Promise<void> {
    await this.kill('SIGKILL');
    this.restarts++;
  }

  /** Started again if it died on its own (systemd's Restart=always). */
  async keepAlive(): Promise<void> {
    const c = this.child;
    if (c && (c.exitCode !== null || c.signalCode !== null) && !this.expectingExit) await this.start();
  }

  get pid(): number | undefined {
    return this.innerPid ?? this.child?.pid;
  }

  /**
   * kill -9 of the process under its non-reaping parent: resolves once it is a zombie
   * (exited, its pid still taken). `reapZombie()` ends the parent.
   */
  async kill9LeavingZombie(): Promise<void> {
    const pid = this.innerPid;
    if (!pid) throw new Error(`${this.name} was not started under a zombie parent`);
    await this.sample();
    process.kill(pid, 'SIGKILL');
    this.restarts++;
    for (let i = 0; i < 200; i++) {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
      if (/^\d+ \(.*\) Z /.test(stat)) return;
      await sleep(25);
    }
    throw new Error(`${this.name} (pid ${pid}) did not become a zombie`);
  }

  /** The non-reaping parent ended: PID 1 inherits the zombie. */
  async reapZombie(): Promise<void> {
    this.innerPid = undefined;
    await this.kill('SIGKILL');
  }

  signal(sig: NodeJS.Signals): void {
    this.child?.kill(sig);
  }

  async stop(): Promise<void> {
    await this.kill('SIGTERM');
    if (this.sampler) clearInterval(this.sampler);
    this.sampler = null;
  }

  tally(msg: (typeof TALLIED)[number]): number {
    return this.tallies.get(msg) ?? 0;
  }

  output(): string {
    return this.log;
  }

  /** The last of its output, for a run kept for inspection. */
  async save(dir: string): Promise<void> {
    await writeFile(join(dir, `${this.name.replace(/\s+/g, '-')}.log`), this.log);
  }

  private async kill(sig: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await this.sample();
    this.expectingExit = true;
    const exited = new Promise((r) => child.once('exit', r));
    const inner = this.innerPid;
    if (inner) {
      // The signal is for tta-carbon, not for the parent that holds it.
      this.innerPid = undefined;
      process.kill(inner, 'SIGCONT');
      process.kill(inner, sig);
      for (let i = 0; i < 1400 && !/^\d+ \(.*\) Z /.test(await readFile(`/proc/${inner}/stat`, 'utf8').catch(() => '0 (x) Z ')); i++) await sleep(25);
      child.kill('SIGKILL');
    } else {
      child.kill('SIGCONT');
      child.kill(sig);
    }
    await exited;
  }

  private async sample(): Promise<void> {
    const pid = this.pid;
    if (!pid) return;
    const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
    const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
    this.peakRssMb = Math.max(this.peakRssMb, kb / 1024);
  }
}
