/**
 * The fleet's defaults (README, "A fleet of hosts"), apart from the modules that load the NATS
 * client: the CLI names them in its help at start-up without loading it.
 */
export const DEFAULT_STREAM = 'PAGETRACK';
export const DEFAULT_GROUP = 'audit';
export const DEFAULT_LEASE_MS = 10_000;
export const DEFAULT_MESSAGE_BYTES = 256 * 1024;
