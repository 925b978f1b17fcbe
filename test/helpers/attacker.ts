import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { tempDir } from './services.js';

// The deployment the security tests play out: root runs tta-carbon over a log directory
// (and, where a test says so, a data directory) owned by an unprivileged user, who
// plants what an attacker holding that account would. The user is created for the run
// and removed after it.

export const isRoot = process.getuid?.() === 0;

export interface Attacker {
  name: string;
  uid: number;
  gid: number;
  /** Runs a shell command as the attacker, to its end. */
  sh(script: string, cwd?: string): void;
  /** Starts a shell command as the attacker in the background. */
  shBackground(script: string, cwd?: string): { stop(): void };
  remove(): void;
}

export function createAttacker(): Attacker {
  const name = `ttaatk${randomBytes(3).toString('hex')}`;
  execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', '--user-group', name]);
  const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
  return {
    name,
    uid,
    gid,
    sh(script, cwd) {
      const r = spawnSync('/bin/sh', ['-c', script], { uid, gid, cwd, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`attacker's script failed (${r.status}): ${r.stderr}`);
    },
    shBackground(script, cwd) {
      const child = spawn('/bin/sh', ['-c', script], { uid, gid, cwd, stdio: 'ignore' });
      return { stop: () => void child.kill('SIGKILL') };
    },
    remove() {
      spawnSync('userdel', [name]);
      spawnSync('groupdel', [name]);
    },
  };
}

export interface Layout {
  base: string;
  /** Owned by the attacker, mode 0755, like the guide's /var/log/tta/staging. */
  log: string;
  codecarbon: string;
  /** Root's own data directory (trusted), unless `userData`. */
  data: string;
  /** A root-only file (0600) whose bytes must never change or leak. */
  victim: string;
  victimBytes: Buffer;
  victimIntact(): boolean;
}

export async function layout(attacker: Attacker, label: string, options: { userData?: boolean } = {}): Promise<Layout> {
  const base = await tempDir(label);
  chmodSync(base, 0o755);
  const log = join(base, 'log');
  const codecarbon = join(log, 'codecarbon');
  const data = join(base, 'data');
  mkdirSync(codecarbon, { recursive: true });
  chownSync(log, attacker.uid, attacker.gid);
  chownSync(codecarbon, attacker.uid, attacker.gid);
  chmodSync(log, 0o755);
  mkdirSync(data, { mode: 0o700 });
  if (options.userData) chownSync(data, attacker.uid, attacker.gid);
  const victim = join(base, 'victim');
  const victimBytes = Buffer.from(`root:ROOTONLY${randomBytes(8).toString('hex')}:19000:0:99999:7:::\n`);
  writeFileSync(victim, victimBytes, { mode: 0o600 });
  return { base, log, codecarbon, data, victim, victimBytes, victimIntact: () => readFileSync(victim).equals(victimBytes) };
}

/**
 * One attacker for a test file: created before its tests when root, removed after them
 * with the directories the tests made (push them on `dirs`).
 */
export function attackerPerSuite(): { readonly attacker: Attacker; dirs: string[] } {
  let attacker: Attacker | undefined;
  const dirs: string[] = [];
  beforeAll(() => {
    if (isRoot) attacker = createAttacker();
  });
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
    attacker?.remove();
  });
  return {
    get attacker() {
      if (!attacker) throw new Error('no attacker: these tests run only as root');
      return attacker;
    },
    dirs,
  };
}
