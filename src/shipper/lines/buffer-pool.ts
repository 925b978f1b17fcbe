// Read buffers shared by every tailer of a shipper: memory follows how much is read at
// once, not how many files are followed (a pool per file held ~2 MB per file: 226 MB
// with 100 files). Buffers come back only once no unshipped chunk points into them.

const ROUND = 64 * 1024;

export class BufferPool {
  private readonly free: Buffer[] = [];

  constructor(private readonly maxFree = 4) {}

  take(size: number): Buffer {
    const i = this.free.findIndex((b) => b.length >= size);
    if (i !== -1) return this.free.splice(i, 1)[0]!;
    // Rounded up, so a buffer given back fits the next read of about the same size.
    return Buffer.allocUnsafeSlow(Math.ceil(size / ROUND) * ROUND);
  }

  give(buf: Buffer): void {
    if (this.free.length < this.maxFree) this.free.push(buf);
  }
}
