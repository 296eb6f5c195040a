import type { EventBody } from '../../events/types.js';
import { warnSite } from '../../projections/vm-state.js';
import type { KernelContext } from './context.js';

/**
 * A kernel WARN. Every occurrence is an event; `printed` says whether the kernel prints it:
 * WARN_ON always, WARN_ON_ONCE only the first time at its site (fn and kind).
 */
export function kernelWarn(k: KernelContext, once: boolean, body: Omit<EventBody<'warn'>, 'printed'>): void {
  const printed = !once || !k.state.vm.warnSites.has(warnSite(body.fn, body.kind));
  k.emit('warn', { ...body, printed });
}
