import type { LsError } from '../errors/result';
import { firmwareError } from './errors';

/*
 * A raw image has no metadata, so the command line says where it goes: `image.bin@0x080A0000`.
 * File names may contain '@' (Particle names files `p2-bootloader@5.6.0.bin`), so only a final
 * `@0x…` is an address; `@` followed by anything else stays part of the path.
 */
const ADDRESS_SUFFIX = /@(0x[0-9a-fA-F_]*[^@]*)$/;

export type FileArgument = { path: string; rawAddress?: number };

export const parseFileArgument = (
  arg: string,
): { ok: true; value: FileArgument } | { ok: false; error: LsError } => {
  const m = ADDRESS_SUFFIX.exec(arg);
  if (!m || m.index === 0) return { ok: true, value: { path: arg } };
  const text = (m[1] ?? '').replaceAll('_', '');
  if (!/^0x[0-9a-fA-F]{1,8}$/.test(text))
    return {
      ok: false,
      error: firmwareError('RAW_BAD_ADDRESS', `"${m[1]}" in ${arg} is not a 32-bit hex address.`, {
        argument: arg,
      }),
    };
  return { ok: true, value: { path: arg.slice(0, m.index), rawAddress: Number.parseInt(text.slice(2), 16) } };
};
