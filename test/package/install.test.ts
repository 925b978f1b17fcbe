import { type ChildProcess, execFile, execFileSync, spawn, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { appendFileSync, chmodSync, chownSync, existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { isRoot } from '../helpers/attacker.js';
import { cleanup, countDocs, services, tempDir, uniqueNames, waitFor } from '../helpers/services.js';

// The .deb as an operator meets it (issue #35): built by `npm run package`'s script,
// installed with dpkg on this machine, its units verified, its binary run as the units
// run it, upgraded, removed and purged. There is no systemd as PID 1 here, so each
// process is its unit's ExecStart line run as the unit's User= with the unit's
// Environment= (not its sandboxing, which only systemd applies); the metrics port is 0,
// as other tests may hold the units' ports.

const installed = () => spawnSync('dpkg-query', ['-s', 'tta-carbon'], { encoding: 'utf8' }).stdout.includes('Status: install ok installed');
const canRun = isRoot && spawnSync('dpkg-deb', ['--version']).status === 0;
// An operator's own install is no test fixture: left alone, and the test skipped.
const foreign = canRun && installed();
const version = JSON.parse(readFileSync('package.json', 'utf8')).version as string;
const UNIT_DIR = '/usr/lib/systemd/system';
const UNITS = ['tta-staging-carbon.service', 'tta-carbon-worker.service', 'tta-carbon-scheduler.service'];

function dpkg(...args: string[]) {
  const r = spawnSync('dpkg', args, { encoding: 'utf8', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

// Builds and lintian take a minute or more: run asynchronously, as a worker that blocks
// that long times out vitest's calls to its runner.
const run = promisify(execFile);

async function build(out: string, v: string, compress: string): Promise<string> {
  await run(process.execPath, ['tools/package.mjs', '--out', out, '--version', v, '--compress', compress], { maxBuffer: 16 << 20 });
  return join(out, `tta-carbon_${v}_amd64.deb`);
}

/** A unit's ExecStart, User= and Environment= as systemd would read them. */
function unit(name: string) {
  const text = readFileSync(join(UNIT_DIR, name), 'utf8');
  const one = (key: string) => text.match(new RegExp(`^${key}=(.*)$`, 'm'))?.[1] ?? '';
  const env = Object.fromEntries([...text.matchAll(/^Environment=([^=\n]+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]));
  return { exec: one('ExecStart').split(' '), user: one('User'), env };
}

const idOf = (user: string) => ({
  uid: Number(execFileSync('id', ['-u', user], { encoding: 'utf8' })),
  gid: Number(execFileSync('id', ['-g', user], { encoding: 'utf8' })),
});

describe.skipIf(!canRun || foreign)('the .deb, installed on this machine', () => {
  const names = uniqueNames('deb');
  let dir = '';
  let previous = '';
  let current = '';
  const hadUser = spawnSync('getent', ['passwd', 'tta-user']).status === 0;
  const hadGroup = spawnSync('getent', ['group', 'tta-group']).status === 0;
  const running: ChildProcess[] = [];

  async function start(unitName: string) {
    const u = unit(unitName);
    const child = spawn(u.exec[0]!, u.exec.slice(1), {
      ...idOf(u.user),
      env: { PATH: '/usr/bin:/bin', ...u.env, TTA_METRICS_PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.push(child);
    // Its own Node, not the machine's.
    // (/usr/bin/tta-carbon is a shell script that execs it: wait for the exec.)
    const exe = () => readlinkSync(`/proc/${child.pid}/exe`);
    await waitFor(() => exe() === '/usr/lib/tta-carbon/node/bin/node', 10_000, `${unitName} to exec the package's node`);
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    const ready = unitName === 'tta-carbon-worker.service' ? 'worker started' : 'shipper started';
    await waitFor(() => out.includes(ready) || child.exitCode !== null, 30_000, `${unitName} to start`);
    if (child.exitCode !== null) throw new Error(`${unitName} exited: ${out}`);
    return {
      output: () => out,
      stop: async () => {
        child.kill('SIGTERM');
        await waitFor(() => child.exitCode !== null || child.signalCode !== null, 45_000, `${unitName} to stop`);
        return child.exitCode;
      },
    };
  }

  /** Appends a line to carbon.log; how long until Elasticsearch finds it. */
  async function searchable(message: string): Promise<number> {
    const t = performance.now();
    appendFileSync(join(dir, 'log', 'carbon.log'), `2026-12-07 10:00:00,000 - src.components.carbon_component - INFO - ${message}\n`);
    await waitFor(async () => (await countDocs(`${names.indexPrefix}-2*`, { match_phrase: { message } })) === 1, 15_000, `"${message}" in Elasticsearch`, 50);
    return performance.now() - t;
  }

  beforeAll(async () => {
    dir = await tempDir('deb');
    chmodSync(dir, 0o755);
    // The same tree under a lower version: the upgrade dpkg sees from the previous release.
    previous = await build(join(dir, 'prev'), `${version}~prev`, 'none');
    current = await build(join(dir, 'cur'), version, 'gzip');
  }, 600_000);

  afterAll(async () => {
    for (const c of running) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    if (installed() || existsSync('/var/lib/dpkg/info/tta-carbon.list')) dpkg('--purge', 'tta-carbon');
    if (!hadUser) spawnSync('userdel', ['tta-user']);
    if (!hadGroup) spawnSync('groupdel', ['tta-group']);
    await cleanup(names, [dir]);
  }, 120_000);

  it('is lintian clean: every tag it would raise is fixed or overridden with its reason', async () => {
    // lintian exits non-zero on errors: its output is what is asserted on.
    const r = await run('lintian', ['--no-tag-display-limit', current], { maxBuffer: 16 << 20 }).catch(
      (err: { stdout?: string; stderr?: string; code?: unknown }) => {
        if (typeof err.code === 'string') throw new Error(`lintian not runnable: ${String(err.code)}`);
        return { stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
      },
    );
    expect(`${r.stdout}${r.stderr}`.split('\n').filter((l) => /^[EW]:/.test(l))).toEqual([]);
    // The tarball holds the same files as the .deb.
    const debFiles = execFileSync('dpkg-deb', ['-c', current], { maxBuffer: 64 << 20, encoding: 'utf8' })
      .split('\n')
      .map((line) => (line.split(' ./')[1] ?? '').replace(/ -> .*$/, '').replace(/\/$/, ''))
      .filter(Boolean);
    const tarFiles = execFileSync('tar', ['-tzf', current.replace(/\.deb$/, '.tar.gz')], { maxBuffer: 64 << 20, encoding: 'utf8' })
      .split('\n')
      .map((f) => f.replace(/\/$/, ''))
      .filter(Boolean);
    expect(new Set(tarFiles)).toEqual(new Set(debFiles));
  }, 240_000);

  it('installs: its own Node 24, the service user, the state directory, verified units', () => {
    const r = dpkg('-i', previous);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('systemctl enable --now tta-staging-carbon');
    expect(execFileSync('/usr/bin/tta-carbon', ['--version'], { encoding: 'utf8' }).trim()).toBe(`tta-carbon ${version}~prev (Node 24.22.3)`);
    const st = statSync('/var/lib/tta-carbon');
    expect([st.uid, st.gid, st.mode & 0o777]).toEqual([idOf('tta-user').uid, idOf('tta-user').gid, 0o700]);
    const verify = spawnSync('systemd-analyze', ['verify', ...UNITS.map((u) => join(UNIT_DIR, u))], { encoding: 'utf8' });
    expect(`${verify.stdout}${verify.stderr}`).toBe('');
    expect(verify.status).toBe(0);
    for (const u of UNITS) expect(unit(u).exec[0]).toBe('/usr/bin/tta-carbon');
    // As on a host with no Node: the machine's node hidden (a mount namespace of its own).
    const bare = spawnSync(
      'unshare',
      [
        '--mount',
        '--propagation',
        'private',
        'sh',
        '-c',
        'for n in $(which -a node); do mount --bind /dev/null "$n"; done; node --version; /usr/bin/tta-carbon --version',
      ],
      {
        encoding: 'utf8',
      },
    );
    expect(bare.stdout.trim()).toBe(`tta-carbon ${version}~prev (Node 24.22.3)`);
    // A native addon still loads into the stripped node.
    execFileSync('/usr/lib/tta-carbon/node/bin/node', ['-e', "require('/usr/lib/tta-carbon/node_modules/@resvg/resvg-js')"]);
  });

  it('one edited file, then health, and the agent and a worker as tta-user: a line searchable within 5 s', async () => {
    const tta = idOf('tta-user');
    mkdirSync(join(dir, 'log', 'codecarbon'), { recursive: true });
    for (const d of [join(dir, 'log'), join(dir, 'log', 'codecarbon')]) chownSync(d, tta.uid, tta.gid);
    // The operator's edit, comments and all (README, "Install on Ubuntu 22.04").
    const conf = parseDocument(readFileSync('/etc/tta-carbon/tta-carbon.yaml', 'utf8'));
    conf.setIn(['environment'], names.environment);
    conf.setIn(['logDir'], join(dir, 'log'));
    conf.setIn(['redis', 'url'], services.redisUrl);
    conf.setIn(['redis', 'queue'], names.queue);
    conf.setIn(['elasticsearch', 'url'], services.elasticsearchUrl);
    writeFileSync('/etc/tta-carbon/tta-carbon.yaml', conf.toString());
    writeFileSync(join(dir, 'log', 'carbon.log'), '');
    chownSync(join(dir, 'log', 'carbon.log'), tta.uid, tta.gid);

    const health = spawnSync('/usr/bin/tta-carbon', ['--config', '/etc/tta-carbon/tta-carbon.yaml', 'health'], { encoding: 'utf8' });
    expect(health.stdout).toMatch(/Redis.*reachable/);
    expect(health.stdout).toMatch(/Elasticsearch.*cluster/);
    expect(health.status, health.stdout).toBe(0);

    const worker = await start('tta-carbon-worker.service');
    const agent = await start('tta-staging-carbon.service');
    const took = await searchable('installed-line-1');
    expect(took).toBeLessThan(5000);
    expect(await agent.stop()).toBe(0);
    expect(await worker.stop()).toBe(0);
    expect(readdirSync('/var/lib/tta-carbon').length).toBeGreaterThan(0);
  }, 120_000);

  it('upgrades keeping the edited configuration and the registry: the next line once, the first not again', async () => {
    const conf = readFileSync('/etc/tta-carbon/tta-carbon.yaml', 'utf8');
    const state = Object.fromEntries(readdirSync('/var/lib/tta-carbon').map((f) => [f, readFileSync(join('/var/lib/tta-carbon', f))]));
    const r = dpkg('-i', current);
    expect(r.code, r.out).toBe(0);
    expect(execFileSync('/usr/bin/tta-carbon', ['--version'], { encoding: 'utf8' })).toContain(`tta-carbon ${version} (`);
    expect(readFileSync('/etc/tta-carbon/tta-carbon.yaml', 'utf8')).toBe(conf);
    for (const [f, bytes] of Object.entries(state)) expect(readFileSync(join('/var/lib/tta-carbon', f)).equals(bytes), f).toBe(true);

    const worker = await start('tta-carbon-worker.service');
    const agent = await start('tta-staging-carbon.service');
    expect(await searchable('installed-line-2')).toBeLessThan(5000);
    await agent.stop();
    await worker.stop();
    expect(await countDocs(`${names.indexPrefix}-2*`)).toBe(2);
    expect(await countDocs(`${names.indexPrefix}-2*`, { match_phrase: { message: 'installed-line-1' } })).toBe(1);
  }, 120_000);

  it('dpkg -r keeps configuration and data; --purge removes them, and no file of the package is left', () => {
    const files = readFileSync('/var/lib/dpkg/info/tta-carbon.list', 'utf8').split('\n').filter(Boolean);
    expect(dpkg('-r', 'tta-carbon').code).toBe(0);
    expect(existsSync('/usr/bin/tta-carbon')).toBe(false);
    expect(existsSync('/usr/lib/tta-carbon')).toBe(false);
    expect(existsSync('/etc/tta-carbon/tta-carbon.yaml')).toBe(true);
    expect(readdirSync('/var/lib/tta-carbon').length).toBeGreaterThan(0);
    expect(dpkg('--purge', 'tta-carbon').code).toBe(0);
    expect(existsSync('/etc/tta-carbon')).toBe(false);
    expect(existsSync('/etc/default/tta-carbon')).toBe(false);
    expect(existsSync('/var/lib/tta-carbon')).toBe(false);
    const left = files.filter((f) => f.includes('tta-carbon') && existsSync(f));
    expect(left).toEqual([]);
    expect(installed()).toBe(false);
  });
});
