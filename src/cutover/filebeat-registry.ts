import { readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';

// Filebeat's registry, read as Filebeat 7.x to 9.x write it (libbeat's memlog store):
// `<path.data>/registry/filebeat/` holds meta.json ({"version":"1"}), a checkpoint
// named by its transaction id (`<txid>.json`, a JSON array of {"_key", ...value}) that
// active.dat points to, and log.json: the operations since, as line pairs
// {"op":"set"|"remove","id":n} then {"k":key,"v":value}. Operations at or below the
// checkpoint's id are in it already. A torn last pair (Filebeat killed mid-write) is
// ignored, as Filebeat ignores it.

export interface FilebeatState {
  /** The registry key: `filestream::<input id>::<identity>::…` or `filebeat::logs::…`. */
  key: string;
  /** The path Filebeat last knew the file by. */
  source: string;
  /** Bytes of the file Filebeat's output acknowledged. */
  offset: number;
  /** How Filebeat identified the file: native (inode + device), fingerprint, path. */
  identity: string;
  inode?: number;
  device?: number;
  /** Later operations have higher numbers: the newest state of a path wins. */
  order: number;
}

export class FilebeatRegistryError extends Error {}

type Value = Record<string, unknown>;

export function registryDir(dataPath: string): string {
  return join(dataPath, 'registry', 'filebeat');
}

export async function readFilebeatRegistry(dataPath: string): Promise<FilebeatState[]> {
  const dir = registryDir(dataPath);
  const meta = await readFile(join(dir, 'meta.json'), 'utf8').catch(() => null);
  if (meta === null) throw new FilebeatRegistryError(`${dir}/meta.json not found: not a Filebeat data path (give the one filebeat.yml's path.data names)`);
  const version = (JSON.parse(meta) as { version?: string }).version;
  if (version !== '1') throw new FilebeatRegistryError(`${dir}/meta.json: registry version ${String(version)}, this reads version 1`);

  const store = new Map<string, { value: Value; order: number }>();
  const txid = await loadCheckpoint(dir, store);
  const log = await readFile(join(dir, 'log.json'), 'utf8').catch(() => '');
  const lines = log.split('\n').filter((l) => l.trim() !== '');
  for (let i = 0; i + 1 < lines.length; i += 2) {
    let op: { op?: string; id?: number };
    let entry: { k?: string; v?: Value };
    try {
      op = JSON.parse(lines[i]!);
      entry = JSON.parse(lines[i + 1]!);
    } catch {
      break;
    }
    if (typeof op.id !== 'number' || op.id <= txid || typeof entry.k !== 'string') continue;
    if (op.op === 'remove') store.delete(entry.k);
    else if (op.op === 'set' && entry.v) store.set(entry.k, { value: entry.v, order: op.id });
  }
  const states: FilebeatState[] = [];
  for (const [key, { value, order }] of store) {
    const state = stateOf(key, value, order);
    if (state) states.push(state);
  }
  return states;
}

/** The checkpoint active.dat names (or the newest `<n>.json`), into `store`; its transaction id. */
async function loadCheckpoint(dir: string, store: Map<string, { value: Value; order: number }>): Promise<number> {
  let file = (await readFile(join(dir, 'active.dat'), 'utf8').catch(() => '')).trim();
  if (!file) {
    const numbered = (await readdir(dir)).filter((n) => /^\d+\.json$/.test(n)).sort((a, b) => Number.parseInt(b, 10) - Number.parseInt(a, 10));
    if (numbered.length === 0) return 0;
    file = join(dir, numbered[0]!);
  }
  // active.dat holds the absolute path Filebeat wrote; the registry may have been copied since.
  const name = file.split('/').pop()!;
  const txid = Number.parseInt(name, 10);
  const text = await readFile(join(dir, name), 'utf8');
  for (const item of JSON.parse(text) as (Value & { _key?: string })[]) {
    const { _key, ...value } = item;
    if (typeof _key === 'string') store.set(_key, { value, order: Number.isFinite(txid) ? txid : 0 });
  }
  return Number.isFinite(txid) ? txid : 0;
}

function stateOf(key: string, v: Value, order: number): FilebeatState | null {
  const native = /::native::(\d+)-(\d+)(?:$|::)/.exec(key);
  const ids = native ? { inode: Number(native[1]), device: Number(native[2]) } : {};
  if (key.startsWith('filestream::')) {
    const meta = v.meta as { source?: string; identifier_name?: string } | undefined;
    const cursor = v.cursor as { offset?: number } | null | undefined;
    if (!meta?.source || typeof cursor?.offset !== 'number') return null;
    return { key, source: meta.source, offset: cursor.offset, identity: meta.identifier_name ?? 'native', order, ...ids };
  }
  if (key.startsWith('filebeat::logs::')) {
    const os = v.FileStateOS as { inode?: number; device?: number } | undefined;
    if (typeof v.source !== 'string' || typeof v.offset !== 'number') return null;
    return {
      key,
      source: v.source,
      offset: v.offset,
      identity: String(v.identifier_name ?? 'native'),
      order,
      inode: os?.inode ?? ids.inode,
      device: os?.device ?? ids.device,
    };
  }
  return null;
}

/** The pid of a process holding `<path.data>/filebeat.lock` open: a Filebeat running on that data path. */
export async function filebeatHolder(dataPath: string): Promise<number | null> {
  const lock = join(dataPath, 'filebeat.lock');
  for (const pid of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(pid)) continue;
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds) if ((await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')) === lock) return Number(pid);
  }
  return null;
}
