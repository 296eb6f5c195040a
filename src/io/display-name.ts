/**
 * What a user calls a log that pagetrack reads from a private copy (`-`: standard input, spooled;
 * `--nats --vm`: a VM's log copied out of the stream): messages name it so, not by the copy's
 * temporary path, which means nothing to the user and is gone when the command ends.
 */
const names = new Map<string, string>();

/** Messages that mention `path` say `name` instead. */
export function nameCopy(path: string, name: string): void {
  names.set(path, name);
}

/** `text` with every private copy's path (and what is made from it, such as `PATH.idx`) named as the user knows it. */
export function displayed(text: string): string {
  for (const [path, name] of names) text = text.replaceAll(path, name);
  return text;
}
