import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { CommandResult, PageTrackVm } from '../domain/vm.js';
import { parseCommand } from './command-schema.js';

/** Feeds one script line to the VM: a line that is not a valid command is recorded as rejected. */
export function runLine(vm: PageTrackVm, text: string, origin: { file?: string; line: number }): CommandResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return vm.rejectInput({ reason: `malformed JSON (${(err as Error).message})`, input: cut(text) }, origin);
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

/** Runs a whole script file, streaming it; calls `onResult` for each command. */
export async function runScriptFile(vm: PageTrackVm, file: string, onResult: (r: CommandResult, line: number) => void): Promise<void> {
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let line = 0;
  for await (const text of lines) {
    line++;
    if (isComment(text)) continue;
    onResult(runLine(vm, text, { file, line }), line);
  }
}

/** Runs script text held in memory (tests, embedded examples). */
export function runScriptText(vm: PageTrackVm, text: string, file?: string): CommandResult[] {
  const out: CommandResult[] = [];
  text.split('\n').forEach((t, i) => {
    if (!isComment(t)) out.push(runLine(vm, t, { ...(file ? { file } : {}), line: i + 1 }));
  });
  return out;
}

function cut(s: string): string {
  return s.length > 200 ? `${s.slice(0, 197)}...` : s;
}
