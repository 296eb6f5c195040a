import type { CommandResult, PageTrackVm } from '../domain/vm.js';
import { openInput } from '../io/input-file.js';
import { MAX_TEXT, clip } from '../io/limits.js';
import { splitLines, tooLongReason } from '../io/lines.js';
import { tooDeepAt, tooDeepReason } from '../io/nesting.js';
import { parseCommand } from './command-schema.js';

/** Feeds one script line to the VM: a line that is not a valid command is recorded as rejected. */
export function runLine(vm: PageTrackVm, text: string, origin: { file?: string; line: number }): CommandResult {
  const deep = tooDeepAt(text);
  if (deep >= 0) return vm.rejectInput({ reason: tooDeepReason(deep), input: cut(text) }, origin);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return vm.rejectInput({ reason: `malformed JSON (${clip((err as Error).message, 200)})`, input: cut(text) }, origin);
  }
  const parsed = parseCommand(value);
  if (!parsed.ok) {
    const { ok: _ok, ...rejection } = parsed;
    return vm.rejectInput({ ...rejection, input: cut(text) }, origin);
  }
  // Accepted commands keep only their line: the log names its script once, not per event.
  return vm.execute(parsed.command, { line: origin.line });
}

/** Lines that are blank or start with `//` are comments and get no command number. */
export function isComment(text: string): boolean {
  const t = text.trim();
  return t.length === 0 || t.startsWith('//');
}

/**
 * Runs a whole script file (a regular file or a FIFO), streaming it; calls `onResult` for each
 * command. Lines end at LF only (README, "Command scripts"); an over-long line is a rejected
 * command, skipped without being held in memory.
 */
export async function runScriptFile(vm: PageTrackVm, file: string, onResult: (r: CommandResult, line: number) => void): Promise<void> {
  // '-' is standard input (README, "CLI").
  const fh = file === '-' ? undefined : (await openInput(file, 'script', ['regular', 'fifo'])).fh;
  try {
    for await (const l of splitLines(fh ? fh.createReadStream({ autoClose: false, highWaterMark: 1 << 16 }) : process.stdin)) {
      if ('tooLong' in l) {
        onResult(vm.rejectInput({ reason: tooLongReason(l.tooLong) }, { file, line: l.line }), l.line);
        continue;
      }
      if (isComment(l.text)) continue;
      onResult(runLine(vm, l.text, { file, line: l.line }), l.line);
    }
  } finally {
    await fh?.close();
  }
}

/** Runs script text held in memory (tests, embedded examples); lines as in runScriptFile. */
export function runScriptText(vm: PageTrackVm, text: string, file?: string): CommandResult[] {
  const out: CommandResult[] = [];
  (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text).split('\n').forEach((t, i) => {
    const line = t.endsWith('\r') ? t.slice(0, -1) : t;
    if (!isComment(line)) out.push(runLine(vm, line, { ...(file ? { file } : {}), line: i + 1 }));
  });
  return out;
}

function cut(s: string): string {
  return clip(s, Math.min(200, MAX_TEXT));
}
