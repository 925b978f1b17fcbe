// Date.prototype.toISOString cost a worker about a tenth of building a document; the
// events of one batch mostly share their second, so the text up to the second is made
// once per second and only the milliseconds per event. Two seconds are kept: carbon.log
// interleaves lines that carry a time with lines that take the batch's fallback time,
// and with one, every change of kind of line made the text again. One formatter per batch.
export class IsoFormatter {
  private second = Number.NaN;
  private prefix = '';
  private otherSecond = Number.NaN;
  private otherPrefix = '';

  /** What `date.toISOString()` returns (and throws the same RangeError for an invalid date). */
  format(date: Date): string {
    const ms = date.getTime();
    const second = Math.floor(ms / 1000);
    if (second !== this.second) {
      if (second !== this.otherSecond) {
        const full = date.toISOString();
        // A year before 0 or after 9999 is written with six digits and a sign: not cached.
        if (full.length !== 24) return full;
        this.otherSecond = second;
        this.otherPrefix = full.slice(0, 20);
      }
      // The one just used becomes the first looked at.
      const prefix = this.otherPrefix;
      this.otherSecond = this.second;
      this.otherPrefix = this.prefix;
      this.second = second;
      this.prefix = prefix;
    }
    const frac = ms - second * 1000;
    return `${this.prefix}${frac < 10 ? '00' : frac < 100 ? '0' : ''}${frac}Z`;
  }
}
