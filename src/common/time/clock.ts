// The one place the wall clock is read. Parts take a clock in their dependencies and
// default to this one; tests pass their own.
export type Clock = () => number;

export const systemClock: Clock = () => Date.now();
