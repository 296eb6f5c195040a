import { produce } from 'immer';
import type { NotifierRegistered, NotifierUnregistered } from '../events/types.js';

/**
 * The notifier list, head first: hlist_add_head makes dispatch LIFO, the newest node first
 * (spec 4.3). A small immutable array, replaced through immer on each change.
 */
export class NotifierProjection {
  nodes: readonly string[] = Object.freeze([]);

  has(node: string): boolean {
    return this.nodes.includes(node);
  }

  onRegistered(e: NotifierRegistered): void {
    this.nodes = produce(this.nodes, (d) => {
      d.unshift(e.node);
    });
  }

  onUnregistered(e: NotifierUnregistered): void {
    this.nodes = produce(this.nodes, (d) => {
      const i = d.indexOf(e.node);
      if (i < 0) throw new Error(`event unregisters notifier '${e.node}', which is not registered`);
      d.splice(i, 1);
    });
  }
}
