/**
 * How the CLI ends on an error: one line on stderr, never a stack trace, and the exit status of
 * README's table (2: bad arguments or unreadable input; 3: a bug in pagetrack itself).
 */
import { displayed } from '../io/display-name.js';
import { InvalidArgumentError } from 'commander';
import { ProfileError } from '../domain/profile.js';
import { CheckpointError } from '../audit/audit-checkpoint.js';
import { InputError, fsErrorMessage, isFsError } from '../io/input-file.js';
import { LogError } from '../log/format.js';
import { ExprError } from '../timetravel/expr.js';
import { FilterError } from '../timetravel/filter.js';
import { PositionError } from '../timetravel/position.js';

/** A usage or input problem: printed as one line, exit status 2. */
export class UsageError extends Error {}

export const EXIT_BAD_INPUT = 2;
export const EXIT_INTERNAL = 3;

/** The line to print for `err` and the exit status. */
export function describeError(err: unknown): { message: string; code: number } {
  if (err instanceof ExprError) return { message: `--when: ${err.message}`, code: EXIT_BAD_INPUT };
  if (
    err instanceof LogError ||
    err instanceof InputError ||
    err instanceof UsageError ||
    err instanceof PositionError ||
    err instanceof FilterError ||
    err instanceof ProfileError ||
    err instanceof InvalidArgumentError ||
    err instanceof CheckpointError
  ) {
    return { message: err.message, code: EXIT_BAD_INPUT };
  }
  if (isFsError(err)) return { message: fsErrorMessage(err, 'file'), code: EXIT_BAD_INPUT };
  if (err instanceof RangeError && /call stack|Invalid array length|Array buffer allocation/i.test(err.message)) {
    return { message: `input too large or too deeply nested to handle (${err.message})`, code: EXIT_BAD_INPUT };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { message: `internal error: ${message} (this is a bug in pagetrack; set PAGETRACK_DEBUG=1 for the stack)`, code: EXIT_INTERNAL };
}

/** Prints `err` as the CLI's last word and exits. */
export function exitWithError(err: unknown): never {
  const { message, code } = describeError(err);
  console.error(`pagetrack: ${displayed(message)}`);
  if (process.env.PAGETRACK_DEBUG && err instanceof Error) console.error(err.stack);
  process.exit(code);
}

/** Routes errors nobody awaited (a worker's, a stream's) to the same exit. */
export function installLastResort(): void {
  process.on('uncaughtException', exitWithError);
  process.on('unhandledRejection', exitWithError);
}
