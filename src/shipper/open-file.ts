import type { FileHandle } from 'node:fs/promises';
import type { FileIdentity } from '../common/registry/identity.js';
import { Batcher } from './batcher.js';
import { firstLine } from './file-reads.js';
import { builderFor } from './record-builder.js';
import type { Registry } from './registry.js';
import type { OpenFile, TailerDeps, TailerOptions } from './tailer-types.js';

// A followed file's state, made when it is opened and made again after a failed
// enqueue (to read on from what Redis holds), and its line in the registry.

/** Enough for a CSV header: a resumed CSV still needs its column names. */
const HEADER_READ = 64 * 1024;

export async function openFileState(
  handle: FileHandle,
  where: { path: string; id: FileIdentity; key: string; offset: number },
  options: TailerOptions,
  deps: Pick<TailerDeps, 'registry' | 'buffers' | 'now'>,
): Promise<OpenFile> {
  const { maxLineBytes, multiline, batch } = options;
  const builder = builderFor(options.kind, where.offset, {
    maxLineBytes,
    startPattern: multiline.startPattern,
    chunkBytes: batch.maxBytes,
    pool: deps.buffers,
  });
  if (where.offset > 0 && builder.needsHeader) builder.primeHeader(await firstLine(handle, HEADER_READ));
  return {
    handle,
    path: where.path,
    id: where.id,
    key: where.key,
    ids: deps.registry.idsFor(where.key),
    committed: where.offset,
    builder,
    batch: new Batcher(where.offset, batch, deps.now),
    lastGrowthAt: deps.now(),
  };
}

/** The file's registry entry: how far Redis has it, and the ids it was first read with, which it keeps. */
export function noteFile(registry: Registry, file: OpenFile, goneSince: number | undefined): void {
  registry.set(file.key, { ...file.id, path: file.path, offset: file.committed, goneSince, ids: file.ids });
}
