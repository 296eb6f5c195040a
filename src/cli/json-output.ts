/**
 * The one JSON vocabulary of every command's output (README, "JSON output"; schemas in
 * `schemas/`): a point of the log is always `{event, command}`, gfns are integers (text shows
 * them in hex), and an event a command touched carries its position beside it.
 */
import type { Touch, WhyTracked } from '../timetravel/history.js';
import { explainWhy } from './format-events.js';
import type { LogPoint } from '../timetravel/position.js';

export interface TouchJson extends Touch {
  readonly position: LogPoint;
}

export const touchJson = (t: Touch): TouchJson => ({ position: { event: t.event.seq, command: t.event.cmd }, ...t });

/** `why --json` and debug's `gfn`: the sentences first, then the evidence. */
export const whyJson = (w: WhyTracked) => ({ explanation: explainWhy(w), ...w, adds: w.adds.map(touchJson), steals: w.steals.map(touchJson), refused: w.refused.map(touchJson) });
