/**
 * pagetrack: an event-sourced model of Linux KVM guest page tracking.
 * The one public entry point; everything else is internal.
 */

/* Domain */
export { PageTrackVm, type VmOptions, type CommandResult, type InputRejection } from './domain/vm.js';
export type {
  Command,
  CommandOp,
  MemslotCreate,
  MemslotDelete,
  MemslotMove,
  MemslotFlags,
  TrackChange,
  IsActive,
  SpCreate,
  SpZap,
  Fault,
  Write,
  WriteVia,
  NotifierChange,
} from './domain/commands.js';
export { COMMAND_OPS, WRITE_VIAS } from './domain/commands.js';
export type { CommandValue } from './domain/handlers.js';
export { type KernelProfile, LINUX_4_6, LINUX_4_19, DEFAULT_PROFILE, PROFILES, ProfileError, getProfile } from './domain/profile.js';
export * as constants from './domain/constants.js';
export { gfnToIndex, lpageCount, frameOf, frameStart, splitAtPages } from './domain/gfn.js';

/* Events */
export type * from './events/types.js';
export { EVENT_VERSIONS, EVENT_TYPES, WARN_KINDS } from './events/types.js';
export { InMemoryEventLog, type EventSink } from './events/event-log.js';

/* Projections */
export { PageTrackState } from './projections/state.js';
export type { SlotState } from './projections/memslots.js';
export type { Spte } from './projections/sptes.js';
export type { ShadowPage } from './projections/shadow-pages.js';
export { snapshot, type StateSnapshot, type SlotSnapshot } from './projections/snapshot.js';
export { replay, projectInto, isPast, type ReplayUntil } from './projections/replay.js';

/* Scripts and logs */
export { parseCommand, type ParseResult } from './script/command-schema.js';
export { runLine, runScriptFile, runScriptText } from './script/run-script.js';
export { LOG_FORMAT, LOG_VERSION, LogError, hashLine, creationTime, type LogHeader } from './log/format.js';
export { LogWriter, type LogTail } from './log/writer.js';
export { LogReader, readAllEvents, type ReadOptions, type ReadProgress, type ReadSummary } from './log/reader.js';
export { EventValidator, type Invalid } from './log/validate.js';
export { UPCASTERS, upcast, type Upcaster, type UpcasterRegistry } from './log/upcast.js';

/* Time travel */
export { type Position, PositionError, parsePosition, formatPosition } from './timetravel/position.js';
export { TimeMachine } from './timetravel/time-machine.js';
export { type LogIndex, type IndexOptions, DEFAULT_INTERVAL, buildIndex, saveIndex, loadIndex, openIndex, indexPathOf } from './timetravel/log-index.js';
export { type EventFilter, matches, touchesGfn } from './timetravel/filter.js';
export { type FrozenPoint, type StateDiff, copyState, diffStates } from './timetravel/diff.js';
export { type Touch, type WhyTracked, gfnHistory, whyTracked } from './timetravel/history.js';
export { type Predicate, ExprError, parseExpr, firstTrue, FUNCTION_DOCS } from './timetravel/expr.js';

/* Audit */
export { Auditor, type AuditReport, type AuditSummary, type Finding, type BugClass, type Severity, SEVERITIES } from './audit/auditor.js';
