import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, readFileSync, readlinkSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { isRoot } from '../helpers/attacker.js';
import { cleanup, countDocs, services, tempDir, uniqueNames, waitFor } from '../helpers/services.js';

// Issue #35's acceptance as written: a Debian machine with no Node. The machine is a
// minimal Debian root (mmdebstrap's minbase: dpkg, apt and what they need, nothing
// else), made once and cached. The .deb is installed in it by its own dpkg, and the
// agent and a worker run in it as their units run them (ExecStart as User=, in a chroot
// with its own /proc and /dev), reaching the test's Redis and Elasticsearch on loopback.
// The host's Node, and everything else of the host, is outside that root.

const run = promisify(execFile);
const have = (command: string) => spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;
const canRun = isRoot && ['mmdebstrap', 'unshare', 'chroot', 'dpkg-deb'].every(have);
const version = JSON.parse(readFileSync('package.json', 'utf8')).version as string;
const ROOTFS = join(homedir(), '.cache', 'tta-carbon', 'rootfs', 'bookworm-minbase.tar');
const NODE = '/usr/lib/tta-carbon/node/bin/node';

/** The cached minimal Debian root, made on first use (a download of the base system). */
async function rootfs(): Promise<string> {
  if (existsSync(ROOTFS)) return ROOTFS;
  mkdirSync(join(ROOTFS, '..'), { recursive: true });
  const part = `${ROOTFS}.${process.pid}.part`;
  await run('mmdebstrap', ['--variant=minbase', '--format=tar', '--quiet', 'bookworm', part, 'http://deb.debian.org/debian'], { maxBuffer: 64 << 20 });
  renameSync(part, ROOTFS);
  return ROOTFS;
}

/**
 * `argv` inside the machine at `root`: a mount namespace of its own with /proc and /dev,
 * then chroot (as `user` when given). unshare and chroot exec, so the pid is the
 * command's own and a signal to it reaches the command.
 */
function inMachine(root: string, argv: string[], user?: string): [string, string[]] {
  const as = user ? `--userspec=${user} ` : '';
  const script = `mount -t proc proc "$R/proc" && mount --rbind /dev "$R/dev" && exec chroot ${as}"$R" "$@"`;
  return ['unshare', ['--mount', '--propagation', 'private', 'env', `R=${root}`, 'sh', '-c', script, 'sh', ...argv]];
}

function runIn(root: string, argv: string[], user?: string) {
  const [cmd, args] = inMachine(root, argv, user);
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', DEBIAN_FRONTEND: 'noninteractive' } });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

describe.skipIf(!canRun)('the .deb on a Debian machine with no Node', () => {
  const names = uniqueNames('clean');
  let dir = '';
  let root = '';
  let deb = '';
  const running: ChildProcess[] = [];

  beforeAll(async () => {
    dir = await tempDir('clean');
    chmodSync(dir, 0o755);
    const [tar] = await Promise.all([
      rootfs(),
      run(process.execPath, ['tools/package.mjs', '--out', join(dir, 'pkg'), '--version', version, '--compress', 'none'], { maxBuffer: 16 << 20 }),
    ]);
    deb = join(dir, 'pkg', `tta-carbon_${version}_amd64.deb`);
    root = join(dir, 'machine');
    mkdirSync(root);
    await run('tar', ['-xf', tar, '-C', root]);
  }, 900_000);

  afterAll(async () => {
    for (const c of running) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const c of running) await waitFor(() => c.exitCode !== null || c.signalCode !== null, 10_000, 'a process in the machine to stop').catch(() => {});
    await cleanup(names, [dir]);
  }, 120_000);

  it('installs with its own dpkg, and runs on the Node it brings', () => {
    expect(runIn(root, ['sh', '-c', 'command -v node nodejs']).code, 'a node in the machine before the install').not.toBe(0);
    copyFileSync(deb, join(root, 'tmp', 'tta-carbon.deb'));
    const install = runIn(root, ['dpkg', '-i', '/tmp/tta-carbon.deb']);
    expect(install.code, install.out).toBe(0);
    expect(runIn(root, ['sh', '-c', 'command -v node nodejs']).code, 'a node on the PATH after the install').not.toBe(0);
    const v = runIn(root, ['tta-carbon', '--version']);
    expect(v.out.trim()).toBe(`tta-carbon ${version} (Node 24.22.3)`);
    expect(runIn(root, ['getent', 'passwd', 'tta-user']).code).toBe(0);
  });

  it('the agent and a worker from the installed units: a line appended to carbon.log is searchable within 5 s', async () => {
    const passwd = readFileSync(join(root, 'etc', 'passwd'), 'utf8').match(/^tta-user:x:(\d+):(\d+):/m);
    expect(passwd, 'tta-user in the machine').not.toBeNull();
    const [uid, gid] = [Number(passwd![1]), Number(passwd![2])];
    const logDir = `/var/log/tta/${names.environment}`;
    for (const d of ['/var/log/tta', logDir, `${logDir}/codecarbon`]) {
      mkdirSync(join(root, d), { recursive: true });
      chownSync(join(root, d), uid, gid);
    }
    writeFileSync(join(root, logDir, 'carbon.log'), '');
    chownSync(join(root, logDir, 'carbon.log'), uid, gid);
    const confPath = join(root, 'etc', 'tta-carbon', 'tta-carbon.yaml');
    const conf = parseDocument(readFileSync(confPath, 'utf8'));
    conf.setIn(['environment'], names.environment);
    conf.setIn(['logDir'], logDir);
    conf.setIn(['redis', 'url'], services.redisUrl);
    conf.setIn(['redis', 'queue'], names.queue);
    conf.setIn(['elasticsearch', 'url'], services.elasticsearchUrl);
    writeFileSync(confPath, conf.toString());

    const start = async (unitName: string, ready: string) => {
      const text = readFileSync(join(root, 'usr', 'lib', 'systemd', 'system', unitName), 'utf8');
      const exec = text.match(/^ExecStart=(.*)$/m)![1]!.split(' ');
      // Its User= by the machine's ids: chroot would look a name up in the host's passwd.
      expect(text.match(/^User=(.*)$/m)?.[1]).toBe('tta-user');
      const env = Object.fromEntries([...text.matchAll(/^Environment=([^=\n]+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]));
      const [cmd, args] = inMachine(root, exec, `${uid}:${gid}`);
      // systemd's own PATH for services.
      const child = spawn(cmd, args, {
        env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', ...env, TTA_METRICS_PORT: '0' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      running.push(child);
      let out = '';
      child.stdout!.on('data', (d) => (out += d));
      child.stderr!.on('data', (d) => (out += d));
      // The machine's own copy of the package's Node, seen from outside the chroot.
      await waitFor(
        () => {
          if (child.exitCode !== null) throw new Error(`${unitName} exited: ${out}`);
          return readlinkSync(`/proc/${child.pid}/exe`) === join(root, NODE);
        },
        15_000,
        `${unitName} to exec the package's node`,
      );
      await waitFor(() => out.includes(ready) || child.exitCode !== null, 30_000, `${unitName} to start`);
      if (child.exitCode !== null) throw new Error(`${unitName} exited: ${out}`);
      return async () => {
        child.kill('SIGTERM');
        await waitFor(() => child.exitCode !== null || child.signalCode !== null, 45_000, `${unitName} to stop`);
        return child.exitCode;
      };
    };
    const stopWorker = await start('tta-carbon-worker.service', 'worker started');
    const stopAgent = await start('tta-staging-carbon.service', 'shipper started');
    const message = `clean-machine-line-${names.environment}`;
    const t = performance.now();
    appendFileSync(join(root, logDir, 'carbon.log'), `2026-12-07 10:00:00,000 - src.components.carbon_component - INFO - ${message}\n`);
    await waitFor(async () => (await countDocs(`${names.indexPrefix}-2*`, { match_phrase: { message } })) === 1, 15_000, `"${message}" in Elasticsearch`, 50);
    expect(performance.now() - t).toBeLessThan(5000);
    expect(await stopAgent()).toBe(0);
    expect(await stopWorker()).toBe(0);
    expect(await countDocs(`${names.indexPrefix}-2*`)).toBe(1);
  }, 180_000);
});
