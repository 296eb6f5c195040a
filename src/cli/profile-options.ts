/** `--profile NAME` and `--kernel VERSION`, shared by the commands that create a VM. */
import type { Command } from 'commander';
import { type KernelProfile, getProfile, profileForKernel } from '../domain/profile.js';
import { UsageError } from './errors.js';

export interface ProfileOpts {
  profile?: string;
  kernel?: string;
}

export function withProfileOptions(c: Command, defaultNote: string): Command {
  return c
    .option('--profile <name>', `kernel profile (${defaultNote}; \`pagetrack profiles\` lists them)`)
    .option('--kernel <version>', 'pick the profile that covers this kernel version, e.g. 6.18.44');
}

/** The profile the options name, or undefined for the command's default. */
export function profileFrom(o: ProfileOpts): KernelProfile | undefined {
  if (o.profile !== undefined && o.kernel !== undefined) throw new UsageError('give --profile or --kernel, not both');
  if (o.kernel !== undefined) return profileForKernel(o.kernel);
  return o.profile !== undefined ? getProfile(o.profile) : undefined;
}
