// What a rotation run did and left, for the CLI, the scheduler's log and the tests.

export interface RotationReport {
  rotated: string[];
  compressed: string[];
  deleted: string[];
  /** Whole files archived before they were deleted (also in `deleted`). */
  archived: { archive: string; files: string[] }[];
  /** Left alone this time, with the reason (not due, unshipped, unsafe, ...). */
  skipped: { path: string; reason: string }[];
  errors: { path: string; reason: string }[];
}
