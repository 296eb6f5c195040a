/**
 * The workloads' and injectable bugs' names, without the workloads themselves: the CLI lists
 * them in its options at start-up without loading the model (test/workloads.test.ts keeps this
 * list equal to WORKLOADS).
 */
export const WORKLOAD_NAMES = ['shadow-mmu', 'vgpu', 'introspection'] as const;

/** Bugs `simulate --inject` can plant (README, "Workloads"). */
export const INJECTABLE = ['unbalanced-remove', 'leak-at-unregister', 'late-registration', 'counter-overflow', 'deleted-slot-tracking'] as const;
