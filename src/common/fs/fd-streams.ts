import type { FileHandle } from 'node:fs/promises';
import { Readable, Writable } from 'node:stream';

// Streams over a descriptor the caller keeps owning. FileHandle.createReadStream with
// autoClose off keeps a reference on the handle that nothing releases, and the later
// handle.close() then waits forever; these read and write by position through the
// handle and leave closing to its owner.

const CHUNK = 64 * 1024;

/** The file's bytes from `start` to its current end, or to `end` (exclusive). */
export function readFrom(handle: FileHandle, start = 0, end = Infinity): Readable {
  let position = start;
  return Readable.from(
    (async function* () {
      for (;;) {
        const want = Math.min(CHUNK, end - position);
        if (want <= 0) return;
        const buf = Buffer.allocUnsafe(want);
        const { bytesRead } = await handle.read(buf, 0, want, position);
        if (bytesRead === 0) return;
        position += bytesRead;
        yield buf.subarray(0, bytesRead);
      }
    })(),
    { objectMode: false },
  );
}

/** Appends what it is given at the handle's position. */
export function writeTo(handle: FileHandle): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      handle.write(chunk).then(() => done(), done);
    },
  });
}
