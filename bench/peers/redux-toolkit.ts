/** Redux Toolkit: a createSlice reducer (immer inside), called once per action. */
import { type PayloadAction, createSlice } from '@reduxjs/toolkit';
import { OP_ADD, OP_GUEST_WRITE, OP_REMOVE, type Ops } from '../workload.js';
import { type GfnPayload, initialTrackState, recipes, resultOfTrackState } from './recipes.js';
import type { PeerResult } from './result.js';

const slice = createSlice({
  name: 'pagetrack',
  initialState: initialTrackState(),
  reducers: {
    add: (s, a: PayloadAction<GfnPayload>) => recipes.add(s, a.payload),
    remove: (s, a: PayloadAction<GfnPayload>) => recipes.remove(s, a.payload),
    guestWrite: (s, a: PayloadAction<GfnPayload>) => recipes.guestWrite(s, a.payload),
    emulatorWrite: (s, _a: PayloadAction<GfnPayload>) => recipes.emulatorWrite(s),
  },
});

/** The actions, built before the clock starts (pagetrack's events are already parsed too). */
export function reduxActions(ops: Ops, n: number): Array<PayloadAction<GfnPayload>> {
  const { add, remove, guestWrite, emulatorWrite } = slice.actions;
  return Array.from({ length: n }, (_, i) => {
    const p = { gfn: ops.gfn[i]! };
    return ops.op[i] === OP_ADD ? add(p) : ops.op[i] === OP_REMOVE ? remove(p) : ops.op[i] === OP_GUEST_WRITE ? guestWrite(p) : emulatorWrite(p);
  });
}

export function reduxToolkit(actions: ReadonlyArray<PayloadAction<GfnPayload>>): () => PeerResult {
  let state = slice.getInitialState();
  for (const a of actions) state = slice.reducer(state, a);
  return () => resultOfTrackState(state);
}
