/**
 * The JSON API of `serve`: GET only, every parameter checked. A bad request answers 400 with
 * `{"error": "..."}` naming the parameter and what is wrong with it; an unknown path 404.
 * Positions use the project's syntax (e<N>, c<K>, t<SECONDS>, start, end).
 */
import { InvalidArgumentError } from 'commander';
import { UsageError } from '../cli/errors.js';
import { type StateView, parseGfnRange, parseTables } from '../cli/state-view.js';
import { parseGfn } from '../cli/timetravel-commands.js';
import { LogError } from '../log/format.js';
import { PositionError, parsePosition } from '../timetravel/position.js';
import { type LogView, NotFound } from './log-view.js';

export interface ApiAnswer {
  readonly status: number;
  /** JSON text. */
  readonly body: string;
}

/** A request problem: 400 and its message. */
export class BadRequest extends Error {}

/** Widest timeline a request may ask for (pixel columns). */
export const MAX_WIDTH = 8192;

const ok = (value: unknown): ApiAnswer => ({ status: 200, body: JSON.stringify(value) });
const fail = (status: number, error: string): ApiAnswer => ({ status, body: JSON.stringify({ error }) });

/** The query of one route: only the parameters it takes, each at most once. */
class Query {
  constructor(
    private readonly route: string,
    private readonly params: URLSearchParams,
    allowed: readonly string[],
  ) {
    for (const k of new Set(params.keys())) {
      if (!allowed.includes(k)) throw new BadRequest(`${route} takes no parameter '${clip(k)}'${allowed.length ? ` (it takes ${allowed.join(', ')})` : ''}`);
      if (params.getAll(k).length > 1) throw new BadRequest(`${k}: given more than once`);
    }
  }

  get(k: string): string | undefined {
    return this.params.get(k) ?? undefined;
  }

  need(k: string): string {
    const v = this.get(k);
    if (v === undefined || v === '') throw new BadRequest(`${k}: missing (${this.route} needs it)`);
    return v;
  }

  /** Runs a parser from the CLI, naming the parameter in its error. */
  parse<T>(k: string, v: string, f: (v: string) => T): T {
    try {
      return f(v);
    } catch (err) {
      if (err instanceof InvalidArgumentError || err instanceof UsageError || err instanceof PositionError) throw new BadRequest(`${k}: ${err.message.replace(/^--\w+ /, '')}`);
      throw err;
    }
  }

  int(k: string, min: number, max: number): number | undefined {
    const v = this.get(k);
    if (v === undefined) return undefined;
    if (!/^\d{1,15}$/.test(v) || Number(v) < min || Number(v) > max) throw new BadRequest(`${k}: must be an integer in ${min}..${max}, got '${clip(v)}'`);
    return Number(v);
  }

  flag(k: string): boolean {
    const v = this.get(k);
    if (v === undefined) return false;
    if (v !== '' && v !== '1' && v !== 'true') throw new BadRequest(`${k}: a flag takes no value (or 1, true), got '${clip(v)}'`);
    return true;
  }

  gfn(k: string): number {
    return this.parse(k, this.need(k), parseGfn);
  }
}

const clip = (s: string) => (s.length > 64 ? `${s.slice(0, 64)}...` : s);

/** A position parameter resolved to its event number (default when absent). */
async function position(view: LogView, q: Query, k: string, dflt?: string): Promise<number> {
  const text = q.get(k) ?? dflt;
  if (text === undefined || text === '') throw new BadRequest(`${k}: missing: a position (e<N>, c<K>, t<SECONDS>, start or end)`);
  const p = q.parse(k, clip(text), parsePosition);
  try {
    return await view.resolve(p);
  } catch (err) {
    if (err instanceof PositionError) throw new BadRequest(`${k}: ${err.message}`);
    throw err;
  }
}

const ROUTES: Record<string, { params: readonly string[]; run: (view: LogView, q: Query) => Promise<ApiAnswer> }> = {
  '/api/meta': { params: [], run: async (view) => ok(view.meta()) },
  '/api/timeline': {
    params: ['from', 'to', 'width'],
    run: async (view, q) => {
      const from = await position(view, q, 'from', 'start');
      const to = await position(view, q, 'to', 'end');
      if (to < from) throw new BadRequest(`to: e${to} is before from (e${from})`);
      const width = q.int('width', 1, MAX_WIDTH) ?? 1000;
      return ok(await view.timeline.columns(from, to, width));
    },
  },
  '/api/state': {
    params: ['at', 'limit', 'all', 'gfn', 'slot', 'as', 'type'],
    run: async (view, q) => {
      const at = await position(view, q, 'at', 'end');
      const limit = q.int('limit', 0, Number.MAX_SAFE_INTEGER);
      const all = q.flag('all');
      if (all && limit !== undefined) throw new BadRequest('limit: give limit or all, not both');
      const gfn = q.get('gfn');
      const slot = q.int('slot', 0, Number.MAX_SAFE_INTEGER);
      const as = q.int('as', 0, Number.MAX_SAFE_INTEGER);
      const type = q.get('type');
      const v: StateView = {
        ...(limit !== undefined ? { limit } : {}),
        ...(all ? { all } : {}),
        ...(gfn !== undefined ? { gfn: q.parse('gfn', gfn, parseGfnRange) } : {}),
        ...(slot !== undefined ? { slot } : {}),
        ...(as !== undefined ? { as } : {}),
        ...(type !== undefined ? { tables: q.parse('type', type, parseTables) } : {}),
      };
      return { status: 200, body: await view.stateJson(at, v) };
    },
  },
  '/api/summary': { params: ['at'], run: async (view, q) => ok(await view.summary(await position(view, q, 'at', 'end'))) },
  '/api/diff': {
    params: ['from', 'to'],
    run: async (view, q) => ok(await view.diff(await position(view, q, 'from'), await position(view, q, 'to'))),
  },
  '/api/why': {
    params: ['gfn', 'at', 'as'],
    run: async (view, q) => {
      const gfn = q.gfn('gfn');
      const as = q.int('as', 0, 1) ?? 0;
      return ok(await view.why(gfn, as, await position(view, q, 'at')));
    },
  },
  '/api/history': {
    params: ['gfn', 'as', 'to'],
    run: async (view, q) => {
      const gfn = q.gfn('gfn');
      const as = q.int('as', 0, 1);
      return ok(await view.history(gfn, as, await position(view, q, 'to', 'end')));
    },
  },
  '/api/event': {
    params: ['seq'],
    run: async (view, q) => {
      const seq = q.int('seq', 1, Number.MAX_SAFE_INTEGER);
      if (seq === undefined) throw new BadRequest('seq: missing (/api/event needs it)');
      if (seq > view.tm.total) throw new BadRequest(`seq: e${seq} does not exist: the log has events e1..e${view.tm.total}`);
      return ok(await view.event(seq));
    },
  },
  '/api/findings': {
    params: [],
    run: async (view) => {
      const s = view.audit.status;
      return ok(s.ready ? { ready: true, ...s.report } : { ready: false, ...(s.error ? { error: s.error } : {}) });
    },
  },
};

export const API_PATHS = Object.keys(ROUTES);

/** Answers one API request (path and query already split); undefined when the path is not the API's. */
export async function answerApi(view: LogView, path: string, params: URLSearchParams): Promise<ApiAnswer | undefined> {
  if (!path.startsWith('/api/')) return undefined;
  const route = Object.hasOwn(ROUTES, path) ? ROUTES[path] : undefined;
  if (!route) return fail(404, `no such API path '${clip(path)}' (there are ${API_PATHS.join(', ')})`);
  try {
    return await route.run(view, new Query(path, params, route.params));
  } catch (err) {
    if (err instanceof BadRequest) return fail(400, err.message);
    if (err instanceof NotFound) return fail(400, err.message);
    if (err instanceof PositionError) return fail(400, err.message);
    if (err instanceof LogError) return fail(409, `the log cannot be read as indexed: ${err.message}`);
    throw err;
  }
}
