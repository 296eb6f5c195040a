import type { EventBody, EventOf, EventType } from '../../events/types.js';
import type { PageTrackState } from '../../projections/state.js';
import type { KernelProfile } from '../profile.js';
import type { NodeHandler } from './node-handlers.js';

/** What kernel routines see: the live state, the profile, and the one way to change anything. */
export interface KernelContext {
  readonly state: PageTrackState;
  readonly profile: KernelProfile;
  /** Records an event and applies it to the state before returning. */
  emit<T extends EventType>(type: T, body: EventBody<T>): EventOf<T>;
  /** In-kernel callbacks of external nodes, by node name. */
  readonly handlers: ReadonlyMap<string, NodeHandler>;
}

/** Thrown by a command's checks, before any event: the command is recorded as rejected. */
export class Rejection extends Error {
  constructor(
    readonly field: string | undefined,
    readonly reason: string,
  ) {
    super(field ? `field '${field}': ${reason}` : reason);
    this.name = 'Rejection';
  }
}
