import { createRequire } from 'node:module';

/** The bits of binary-version-reader 3.1.3 (Particle's parser, a devDependency) the tests compare against. */
export interface OracleResult {
  crc: { ok: boolean; storedCrc: string; actualCrc: string };
  prefixInfo: {
    moduleStartAddy: string;
    moduleEndAddy: string;
    moduleFlags: number;
    moduleVersion: number;
    platformID: number;
    moduleFunction: number;
    moduleIndex: number;
    depModuleFunction: number;
    depModuleIndex: number;
    depModuleVersion: number;
    dep2ModuleFunction: number;
    dep2ModuleIndex: number;
    dep2ModuleVersion: number;
    prefixOffset: number;
  };
  suffixInfo: { productId: number; productVersion: number; fwUniqueId: string; suffixSize: number };
}

interface OracleParser {
  parseBuffer(info: { fileBuffer: Buffer }): Promise<OracleResult>;
}

const require = createRequire(import.meta.url);
const { HalModuleParser } = require('binary-version-reader') as { HalModuleParser: new () => OracleParser };

export const oracleParse = (bytes: Uint8Array): Promise<OracleResult> =>
  new HalModuleParser().parseBuffer({ fileBuffer: Buffer.from(bytes) });
