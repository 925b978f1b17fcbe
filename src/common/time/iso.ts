// Date.prototype.toISOString cost a worker about a tenth of building a document; the
// events of one batch mostly share their second, so the text up to the second is made
// once per second and only the milliseconds per event. One formatter per batch.
export class IsoFormatter {
  private second = Number.NaN;
  private prefix = '';

  /** What `date.toISOString()` returns (and throws the same RangeError for an invalid date). */
  format(date: Date): string {
    const ms = date.getTime();
    const second = Math.floor(ms / 1000);
    if (second !== this.second) {
      const full = date.toISOString();
      // A year before 0 or after 9999 is written with six digits and a sign: not cached.
      if (full.length !== 24) return full;
      this.second = second;
      this.prefix = full.slice(0, 20);
      return full;
    }
    const frac = ms - second * 1000;
    return `${this.prefix}${frac < 10 ? '00' : frac < 100 ? '0' : ''}${frac}Z`;
  }
}
