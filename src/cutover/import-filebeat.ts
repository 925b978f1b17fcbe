import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { openRegular } from '../common/fs/safe-open.js';
import { identify, identityKey } from '../common/registry/identity.js';
import { Registry } from '../shipper/registry.js';
import { type FilebeatState, filebeatHolder, readFilebeatRegistry } from './filebeat-registry.js';

// The day an operator switches from Filebeat (issue #35): each file Filebeat was reading
// resumes at the offset Filebeat's output acknowledged, so nothing is shipped twice
// (under other ids, in the same day's index) and nothing between its last offset and
// the switch is skipped. A file Filebeat never saw has no entry and is read from its
// start, as any new file is.

export interface ImportReport {
  imported: { path: string; offset: number; size: number }[];
  skipped: { path: string; reason: string }[];
}

export class FilebeatRunningError extends Error {
  constructor(
    readonly pid: number,
    dataPath: string,
  ) {
    super(`Filebeat is running (pid ${pid} holds ${dataPath}/filebeat.lock): stop it first, so that its offsets stop moving`);
  }
}

/**
 * Reads Filebeat's registry at `dataPath` and writes tta-carbon's registry entries in
 * `dataDir` (the shipper must be stopped: it keeps its registry in memory and would
 * write over them). A path's newest state wins; each is checked against the file now
 * at that path (the same inode for an inode-keyed state, at least as long as the
 * offset), so that a file replaced since is read from its start, not from the middle.
 */
export async function importFilebeat(dataPath: string, dataDir: string, options: { dryRun?: boolean } = {}): Promise<ImportReport> {
  const path = resolve(dataPath);
  const holder = await filebeatHolder(path);
  if (holder !== null) throw new FilebeatRunningError(holder, path);
  const states = newestBySource(await readFilebeatRegistry(path));
  // Root reads Filebeat's registry (root's, 0750) and sees its lock holder; the registry
  // it writes is the agent's, in a directory tta-user owns. Written as root it would be
  // root's and the agent, running as tta-user, could not save it; and root writing into
  // a directory another user can write is what it must not do. So that part runs as
  // the directory's owner, which also decides which log files it may read.
  const restore = await actAsOwnerOf(dataDir);
  try {
    const { registry } = await Registry.open(dataDir);
    const report: ImportReport = { imported: [], skipped: [] };
    for (const state of states) {
      const outcome = await entryFor(state, registry);
      if ('reason' in outcome) report.skipped.push({ path: state.source, reason: outcome.reason });
      else {
        report.imported.push({ path: state.source, offset: state.offset, size: outcome.size });
        if (!options.dryRun) registry.set(outcome.key, outcome.entry);
      }
    }
    if (!options.dryRun) await registry.persist();
    return report;
  } finally {
    restore();
  }
}

async function actAsOwnerOf(dir: string): Promise<() => void> {
  const st = await stat(dir).catch(() => null);
  if (process.geteuid?.() !== 0 || !st || st.uid === 0) return () => {};
  process.setegid!(st.gid);
  process.seteuid!(st.uid);
  return () => {
    process.seteuid!(0);
    process.setegid!(0);
  };
}

function newestBySource(states: FilebeatState[]): FilebeatState[] {
  const newest = new Map<string, FilebeatState>();
  for (const s of states) if ((newest.get(s.source)?.order ?? -1) < s.order) newest.set(s.source, s);
  return [...newest.values()].sort((a, b) => a.source.localeCompare(b.source));
}

type Outcome = { key: string; entry: Parameters<Registry['set']>[1]; size: number } | { reason: string };

async function entryFor(state: FilebeatState, registry: Registry): Promise<Outcome> {
  let handle: Awaited<ReturnType<typeof openRegular>>;
  try {
    handle = await openRegular(state.source);
  } catch (err) {
    return { reason: `not readable now (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); nothing to resume` };
  }
  try {
    const st = await handle.stat();
    if (state.inode !== undefined && state.inode !== st.ino)
      return { reason: `another file now (inode ${st.ino}, Filebeat read ${state.inode}): read from its start` };
    if (st.size < state.offset)
      return { reason: `shorter (${st.size} bytes) than Filebeat's offset ${state.offset}: replaced or truncated since, read from its start` };
    const id = await identify(handle, true);
    if (!id) return { reason: 'empty: read from its start' };
    const key = identityKey(id);
    const known = registry.get(key);
    if (known) return { reason: `already in tta-carbon's registry (offset ${known.offset}): left as it is` };
    return { key, entry: { ...id, path: state.source, offset: state.offset, ids: 'short' }, size: st.size };
  } finally {
    await handle.close();
  }
}
