import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildModule, parseModule } from '../../../core/firmware';
import type { ServerConfig } from '../../../core/sim/functionfs/protocol';
import type { DeviceServer } from './device-server';

/** What every guest check gets: the device server, paths, and the emulated devices' IDs. */
export interface RigContext {
  /** Replaced by the batch check, which needs two devices of one platform. */
  server: DeviceServer;
  /** Starts a device server (the log goes to out/device-server.log). */
  readonly startServer: (config: ServerConfig) => Promise<DeviceServer>;
  readonly repo: string;
  readonly out: string;
  readonly node: string;
  /** The CLI bundle built on the host (undefined with the reason when it did not build). */
  readonly cli: string | undefined;
  readonly cliError: string | undefined;
  readonly photon: string;
  readonly boron: string;
  readonly fixtures: string;
}

export interface Image {
  readonly bytes: Buffer;
  readonly address: number;
  readonly source: string;
}

/** A real Photon module from ../shared/fixtures when present, else one generated with buildModule. */
export const photonImage = (
  ctx: RigContext,
  fixture: string,
  generated: Parameters<typeof buildModule>[0],
): Image => {
  const path = join(ctx.fixtures, fixture);
  const bytes = existsSync(path) ? readFileSync(path) : Buffer.from(buildModule(generated));
  const parsed = parseModule(path, bytes);
  if (!parsed.ok) throw new Error(`${fixture}: ${parsed.error.message}`);
  return {
    bytes,
    address: parsed.module.startAddress,
    source: existsSync(path) ? path : `generated (${fixture} absent)`,
  };
};
