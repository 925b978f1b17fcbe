import { spawn } from 'node:child_process';
import { access, chmod, chown, cp, mkdir, readFile, readdir, rename, rm } from 'node:fs/promises';
import { freemem } from 'node:os';
import { join } from 'node:path';
import { ServiceStartError } from './errors.js';
import { isRoot, livePid, readPid, run, startablePort, stopPidFile, waitFor, which } from './process.js';
import { elasticsearchHealth } from './probe.js';
import { ELASTICSEARCH_ARTIFACT, ELASTICSEARCH_MIN_JAVA, ELASTICSEARCH_VERSION } from './versions.js';

export interface LocalElasticsearch {
  url: string;
  /** Holds data, logs and the pid file (and the distribution, unless distDir says otherwise). */
  dir: string;
  /** Where the zip is fetched and unpacked; several nodes can share one. Default: dir. */
  distDir?: string;
  heapMb: number;
  /** JDK to run under; found in /usr/lib/jvm when not given. */
  javaHome?: string;
  /** System user to run as when we are root (Elasticsearch refuses root). */
  runAsUser: string;
  startTimeoutMs: number;
  /** One node of a cluster on this host (Issue #19's three-node tests), instead of a single node. */
  cluster?: ClusterNode;
}

export interface ClusterNode {
  name: string;
  nodeName: string;
  transportPort: number;
  /** Transport ports of every node, this one included: where nodes find each other. */
  seedTransportPorts: number[];
  /** Node names of the first master election (every node, on a new cluster). */
  masterNodes: string[];
}

/** Settings that make a node single or one of a cluster. */
function topology(port: number, cluster?: ClusterNode): string[] {
  if (!cluster) return [`transport.port=${port + 100}`, 'discovery.type=single-node', 'cluster.name=tta-carbon-local'];
  return [
    `transport.port=${cluster.transportPort}`,
    `cluster.name=${cluster.name}`,
    `node.name=${cluster.nodeName}`,
    `discovery.seed_hosts=${cluster.seedTransportPorts.map((p) => `127.0.0.1:${p}`).join(',')}`,
    `cluster.initial_master_nodes=${cluster.masterNodes.join(',')}`,
  ];
}

export async function elasticsearchUp(opts: LocalElasticsearch): Promise<{ started: boolean; pid?: number }> {
  const health = await elasticsearchHealth(opts.url);
  if (health.answered) return { started: false };
  const port = await startablePort('elasticsearch', opts.url, 9200, 'ELASTICSEARCH_URL');
  const needMb = opts.heapMb + 512;
  if (freemem() / 1024 / 1024 < needMb) {
    throw new ServiceStartError(
      'elasticsearch',
      `only ${Math.round(freemem() / 1048576)} MiB of memory free, ${needMb} MiB needed for a ${opts.heapMb} MiB heap`,
      'free memory, or lower the heap with TTA_ES_HEAP_MB',
    );
  }
  const javaHome = opts.javaHome ?? (await findJdk(ELASTICSEARCH_MIN_JAVA));
  const home = await ensureDistribution(opts.distDir ?? opts.dir);
  const user = await runAs(opts.runAsUser);
  const data = join(opts.dir, 'data');
  const logs = join(opts.dir, 'logs');
  await mkdir(data, { recursive: true });
  await mkdir(logs, { recursive: true });
  if (user) for (const p of [home, data, logs]) await chownTree(p, user.uid, user.gid);
  if (user) await chown(opts.dir, user.uid, user.gid);
  // Nodes sharing one distribution each get their own config directory: a node writes
  // its keystore there at start, and three doing so at once in one place race.
  const conf = opts.cluster ? join(opts.dir, 'config') : join(home, 'config');
  if (opts.cluster && !(await exists(conf))) await cp(join(home, 'config'), conf, { recursive: true });
  if (user && opts.cluster) await chownTree(conf, user.uid, user.gid);
  const logFile = join(logs, `${opts.cluster?.name ?? 'tta-carbon-local'}.log`);
  const pidFile = join(opts.dir, 'elasticsearch.pid');
  await rm(pidFile, { force: true });
  const child = spawn(
    join(home, 'bin', 'elasticsearch'),
    [
      '-d',
      '-p',
      pidFile,
      '-E',
      'network.host=127.0.0.1',
      '-E',
      `http.port=${port}`,
      '-E',
      `path.data=${data}`,
      '-E',
      `path.logs=${logs}`,
      '-E',
      'xpack.security.enabled=false',
      // A nearly full dev disk must not silently turn indices read-only.
      '-E',
      'cluster.routing.allocation.disk.threshold_enabled=false',
      ...topology(port, opts.cluster).flatMap((setting) => ['-E', setting]),
    ],
    {
      cwd: home,
      env: { ...process.env, ES_JAVA_HOME: javaHome, ES_JAVA_OPTS: `-Xms${opts.heapMb}m -Xmx${opts.heapMb}m`, ES_PATH_CONF: conf, HOME: opts.dir },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: Ctrl-C on `npm start` or a test runner's timeout must not
      // take the shared cluster down with it.
      detached: true,
      ...(user && { uid: user.uid, gid: user.gid }),
    },
  );
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-8000)));
  child.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-8000)));
  const exit = await new Promise<number | null>((resolve) => {
    child.on('error', (err) => {
      output += `\n${err.message}`;
      resolve(-1);
    });
    child.on('close', resolve);
  });
  if (exit !== 0) {
    throw new ServiceStartError('elasticsearch', `failed to start (exit ${exit}):\n${tail(output, 15)}`, `see ${logFile}`);
  }
  const ok = await waitFor(
    async () => {
      const h = await elasticsearchHealth(opts.url, 2000, '?wait_for_status=yellow&timeout=1s');
      return h.answered && (h.status === 'yellow' || h.status === 'green');
    },
    opts.startTimeoutMs,
    1000,
  );
  if (!ok) {
    const log = await readFile(logFile, 'utf8').catch(() => output);
    throw new ServiceStartError('elasticsearch', `did not reach yellow within ${opts.startTimeoutMs / 1000}s:\n${tail(log, 15)}`, `see ${logs}`);
  }
  return { started: true, pid: (await readPid(pidFile)) ?? undefined };
}

export function elasticsearchDown(dir: string): Promise<boolean> {
  return stopPidFile(join(dir, 'elasticsearch.pid'), 60_000);
}

export function elasticsearchPid(dir: string): Promise<number | null> {
  return livePid(join(dir, 'elasticsearch.pid'));
}

/** The newest JDK in /usr/lib/jvm with at least `minMajor`, by its `release` file. */
export async function findJdk(minMajor: number, root = '/usr/lib/jvm'): Promise<string> {
  const candidates: { home: string; major: number }[] = [];
  for (const name of await readdir(root).catch(() => [] as string[])) {
    const home = join(root, name);
    const release = await readFile(join(home, 'release'), 'utf8').catch(() => '');
    const m = /^JAVA_VERSION="(\d+)/m.exec(release);
    if (m && (await exists(join(home, 'bin', 'java')))) candidates.push({ home, major: Number(m[1]) });
  }
  candidates.sort((a, b) => b.major - a.major);
  const best = candidates[0];
  if (!best || best.major < minMajor) {
    const seen = candidates.map((c) => `${c.home} (Java ${c.major})`).join(', ') || 'none';
    throw new ServiceStartError(
      'elasticsearch',
      `Elasticsearch ${ELASTICSEARCH_VERSION} needs Java ${minMajor}+; JDKs in ${root}: ${seen}`,
      `install a JDK ${minMajor}+ (e.g. apt-get install openjdk-${minMajor}-jdk-headless) or set TTA_ES_JAVA_HOME`,
    );
  }
  return best.home;
}

/** Fetches the integ-test-zip through Maven and unpacks it once; later runs reuse it. */
async function ensureDistribution(dir: string): Promise<string> {
  const home = join(dir, `elasticsearch-${ELASTICSEARCH_VERSION}`);
  if (await exists(join(home, 'bin', 'elasticsearch'))) return home;
  await mkdir(dir, { recursive: true });
  const zip = join(dir, `elasticsearch-${ELASTICSEARCH_VERSION}.zip`);
  if (!(await exists(zip))) {
    if (!(await which('mvn'))) {
      throw new ServiceStartError(
        'elasticsearch',
        'Maven (mvn) is needed to fetch the Elasticsearch zip and is not installed',
        'apt-get install -y maven, or point ELASTICSEARCH_URL at a running cluster',
      );
    }
    const r = await run('mvn', ['-B', '-q', 'dependency:copy', `-Dartifact=${ELASTICSEARCH_ARTIFACT}`, `-DoutputDirectory=${dir}`]);
    if (r.code !== 0 || !(await exists(zip))) {
      throw new ServiceStartError(
        'elasticsearch',
        `mvn dependency:copy of ${ELASTICSEARCH_ARTIFACT} failed:\n${tail(r.stdout + r.stderr, 15)}`,
        'check that Maven Central is reachable (mvn -v; ~/.m2/settings.xml proxies)',
      );
    }
  }
  const staging = `${home}.unpacking`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  const unzip = (await which('unzip')) ? await run('unzip', ['-q', zip, '-d', staging]) : await run('python3', ['-m', 'zipfile', '-e', zip, staging]);
  if (unzip.code !== 0) throw new ServiceStartError('elasticsearch', `could not unpack ${zip}: ${unzip.stderr.trim()}`, `delete ${zip} and try again`);
  const inner = join(staging, `elasticsearch-${ELASTICSEARCH_VERSION}`);
  // python's zipfile drops the executable bits that unzip keeps.
  for (const f of await readdir(join(inner, 'bin'))) await chmod(join(inner, 'bin', f), 0o755);
  await rename(inner, home);
  await rm(staging, { recursive: true, force: true });
  return home;
}

async function runAs(userName: string): Promise<{ uid: number; gid: number } | null> {
  if (!isRoot()) return null;
  let id = await run('id', ['-u', userName]);
  if (id.code !== 0) {
    const add = await run('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', userName]);
    if (add.code !== 0)
      throw new ServiceStartError(
        'elasticsearch',
        `cannot create the system user ${userName}: ${add.stderr.trim()}`,
        `create it by hand: useradd --system ${userName}`,
      );
    id = await run('id', ['-u', userName]);
  }
  const gid = await run('id', ['-g', userName]);
  return { uid: Number(id.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

async function chownTree(path: string, uid: number, gid: number): Promise<void> {
  const r = await run('chown', ['-R', `${uid}:${gid}`, path]);
  if (r.code !== 0) throw new ServiceStartError('elasticsearch', `chown ${path} failed: ${r.stderr.trim()}`, 'check the services directory permissions');
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

function tail(text: string, lines: number): string {
  return text.trim().split('\n').slice(-lines).join('\n');
}
