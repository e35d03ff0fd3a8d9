import type { Command } from 'commander';
import type { CliIo } from '../io';
import { register as batch } from './batch';
import { register as batches } from './batches';
import { register as demo } from './demo';
import { register as devices } from './devices';
import { register as dfu } from './dfu';
import { register as exportCmd } from './export';
import { register as flash } from './flash';
import { register as inspect } from './inspect';
import { register as labels } from './labels';
import { register as line } from './line';
import { register as mockCloud } from './mock-cloud';
import { register as outbox } from './outbox';
import { register as profile } from './profile';
import { register as run } from './run';
import { register as sync } from './sync';

/**
 * Each command lives in its own file and exports a `register` function. The order here is the
 * order `linestation --help` shows them in.
 */
export type RegisterCommand = (program: Command, io: CliIo) => void;

export const COMMANDS: RegisterCommand[] = [
  demo,
  run,
  inspect,
  profile,
  flash,
  devices,
  dfu,
  batches,
  batch,
  exportCmd,
  labels,
  outbox,
  sync,
  line,
  mockCloud,
];
