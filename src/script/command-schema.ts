/**
 * The command script format: one JSON object per line, `op` naming the command (README,
 * "Command scripts"). Validation here is about shape and ranges; what depends on the VM's state
 * (slot exists, gfn inside it, ...) is checked by the VM.
 */
import * as z from 'zod';
import { show } from '../domain/show.js';
import { MAX_NAME, MAX_TEXT } from '../io/limits.js';
import { COMMAND_OPS, type Command, WRITE_VIAS } from '../domain/commands.js';
import { ADDRESS_SPACES, GFN_LIMIT, KVM_MEM_LOG_DIRTY_PAGES, KVM_MEM_READONLY, MAX_MAPPING_LEVEL, PAGE_SIZE } from '../domain/constants.js';

const missingOr = (what: string) => (iss: { input?: unknown }) => (iss.input === undefined ? 'is missing' : `must be ${what}, got ${show(iss.input)}`);


/** An integer in [min, max], written as a JSON number or a "0x..." hex string. */
function int(what: string, min: number, max: number) {
  const desc = `${what} (an integer ${min}..${max === Number.MAX_SAFE_INTEGER ? '2^53-1' : max}, or a "0x" hex string)`;
  return z.union([z.number(), z.string()], { error: missingOr(desc) }).transform((v, ctx) => {
    const n = typeof v === 'number' ? v : /^0x[0-9a-f]+$/i.test(v) ? Number.parseInt(v.slice(2), 16) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      ctx.addIssue({ code: 'custom', message: `must be ${desc}, got ${show(v)}` });
      return z.NEVER;
    }
    return n;
  });
}

const as = int('an address space', 0, ADDRESS_SPACES - 1);
const slot = int('a memslot id', 0, 511);
const gfn = int('a gfn', 0, GFN_LIMIT - 1);
const name = (what: string) =>
  z
    .string({ error: missingOr(`${what} (a string)`) })
    .min(1, { error: `${what} must not be empty` })
    .max(MAX_NAME, { error: (iss) => `${what} must be at most ${MAX_NAME} characters, got ${(iss.input as string).length}` });
const bool = (what: string) => z.boolean({ error: missingOr(`${what} (true or false)`) });

/** KVM_MEM_* bits as a number, or names: "log-dirty-pages", "readonly". */
const FLAG_NAMES = new Map<string, number>([
  ['log-dirty-pages', KVM_MEM_LOG_DIRTY_PAGES],
  ['readonly', KVM_MEM_READONLY],
]);
const flags = z.union([z.number(), z.array(z.string())], { error: missingOr('flags (a number, or a list of "log-dirty-pages", "readonly")') }).transform((v, ctx) => {
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v) || v < 0) ctx.addIssue({ code: 'custom', message: `must be a non-negative integer bit mask, got ${show(v)}` });
    return v;
  }
  let bits = 0;
  for (const n of v) {
    const bit = FLAG_NAMES.get(n);
    if (bit === undefined) ctx.addIssue({ code: 'custom', message: `unknown flag ${show(n)} (known: ${[...FLAG_NAMES.keys()].join(', ')})` });
    else bits |= bit;
  }
  return bits;
});

/** A kvm_page_track_mode: the raw enum value (any integer; invalid ones WARN in the kernel) or "write". */
const mode = z
  .union([z.number(), z.literal('write')], { error: missingOr('a mode (an integer, or "write")') })
  .transform((v, ctx) => {
    if (v === 'write') return 0;
    if (!Number.isSafeInteger(v)) ctx.addIssue({ code: 'custom', message: `must be an integer mode, got ${show(v)}` });
    return v;
  })
  .optional();

const hostLevel = int('a host mapping level', 1, MAX_MAPPING_LEVEL).default(MAX_MAPPING_LEVEL);

const track = (op: 'track-add' | 'track-remove') =>
  z.strictObject({ op: z.literal(op), user: name('a user id'), as, slot: slot.optional(), gfn, mode });

const SCHEMAS = {
  'memslot-create': z.strictObject({
    op: z.literal('memslot-create'),
    as,
    slot,
    base: gfn,
    npages: int('a page count', 1, 2 ** 31 - 1),
    flags: flags.default(0),
    uaddr: int('a userspace address', 0, Number.MAX_SAFE_INTEGER).optional(),
    inferred: bool('inferred').optional(),
  }),
  'memslot-delete': z.strictObject({ op: z.literal('memslot-delete'), as, slot, prepareFails: bool('prepareFails').optional() }),
  'memslot-move': z.strictObject({ op: z.literal('memslot-move'), as, slot, base: gfn, prepareFails: bool('prepareFails').optional() }),
  'memslot-flags': z.strictObject({ op: z.literal('memslot-flags'), as, slot, flags }),
  'track-add': track('track-add'),
  'track-remove': track('track-remove'),
  'is-active': z.strictObject({ op: z.literal('is-active'), as, gfn, mode }),
  'sp-create': z.strictObject({
    op: z.literal('sp-create'),
    as,
    gfn,
    level: int('a shadow page level', 1, 4),
    direct: bool('direct').default(false),
    vcpuAs: as.optional(),
    inferred: bool('inferred').optional(),
  }),
  'sp-zap': z.strictObject({ op: z.literal('sp-zap'), sp: int('a shadow page id', 1, Number.MAX_SAFE_INTEGER) }),
  'sp-use': z.strictObject({ op: z.literal('sp-use'), sp: int('a shadow page id', 1, Number.MAX_SAFE_INTEGER) }),
  fault: z.strictObject({ op: z.literal('fault'), as, gfn, write: bool('write'), hostLevel, hostWritable: bool('hostWritable').optional() }),
  write: z.strictObject({
    op: z.literal('write'),
    as,
    gpa: int('a guest physical address', 0, GFN_LIMIT * PAGE_SIZE - 1),
    bytes: int('a byte count', 1, 65536),
    via: z.enum(WRITE_VIAS as [string, ...string[]], { error: missingOr(`one of ${WRITE_VIAS.join(', ')}`) }).default('guest'),
    hostLevel,
  }),
  'notifier-register': z.strictObject({ op: z.literal('notifier-register'), node: name('a node id') }),
  'notifier-unregister': z.strictObject({ op: z.literal('notifier-unregister'), node: name('a node id') }),
  'zap-all': z.strictObject({ op: z.literal('zap-all') }),
  'vm-destroy': z.strictObject({ op: z.literal('vm-destroy') }),
  'spte-set': z.strictObject({ op: z.literal('spte-set'), as, gfn, level: int('a mapping level', 1, MAX_MAPPING_LEVEL), writable: bool('writable') }),
  mark: z.strictObject({ op: z.literal('mark'), text: z.string({ error: missingOr('a text') }).max(MAX_TEXT, { error: `a marker is at most ${MAX_TEXT} characters` }) }),
} as const;

export type ParseResult =
  | { readonly ok: true; readonly command: Command }
  | { readonly ok: false; readonly op?: string; readonly field?: string; readonly reason: string };

/** Turns an untrusted value (one parsed JSON line) into a command, or says what is wrong with it. */
export function parseCommand(input: unknown): ParseResult {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, reason: `a command must be a JSON object, got ${show(input)}` };
  }
  const op = (input as { op?: unknown }).op;
  if (op === undefined) return { ok: false, field: 'op', reason: `is missing (one of: ${COMMAND_OPS.join(', ')})` };
  if (typeof op !== 'string' || !Object.hasOwn(SCHEMAS, op)) {
    return { ok: false, field: 'op', reason: `unknown command ${show(op)} (one of: ${COMMAND_OPS.join(', ')})` };
  }
  const schema = SCHEMAS[op as keyof typeof SCHEMAS];
  const r = schema.safeParse(input);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    if (issue.code === 'unrecognized_keys') {
      const keys = (issue as { keys: string[] }).keys;
      return { ok: false, op, field: keys[0]!, reason: `unknown field for ${op} (it takes: ${Object.keys(schema.shape).filter((k) => k !== 'op').join(', ')})` };
    }
    return { ok: false, op, field: issue.path.join('.'), reason: issue.message };
  }
  return { ok: true, command: normalise(r.data as Record<string, unknown>) };
}

/** Fills the defaults that depend on other fields. */
function normalise(d: Record<string, unknown>): Command {
  if (d.op === 'memslot-create' && d.uaddr === undefined) d.uaddr = (d.base as number) * PAGE_SIZE;
  if (d.op === 'sp-create' && d.vcpuAs === undefined) d.vcpuAs = d.as;
  if ((d.op === 'track-add' || d.op === 'track-remove') && d.slot === undefined) delete d.slot;
  if ((d.op === 'track-add' || d.op === 'track-remove' || d.op === 'is-active') && d.mode === undefined) delete d.mode;
  if (d.op === 'fault' && d.hostWritable === undefined) delete d.hostWritable;
  if ((d.op === 'memslot-create' || d.op === 'sp-create') && !d.inferred) delete d.inferred;
  if ((d.op === 'memslot-delete' || d.op === 'memslot-move') && !d.prepareFails) delete d.prepareFails;
  return d as unknown as Command;
}
