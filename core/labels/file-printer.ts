import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Result } from '../errors/result';
import { ok } from '../errors/result';
import { type LabelErrorCode, labelErr } from './errors';

/**
 * A label written as a file, for stations without a printer: one file per label job, written to
 * a temporary name and renamed, so a folder watcher (or a person) never sees half a label.
 */

/** A file-name-safe form of a lot or key: letters, digits, dot, dash and underscore. */
export const safeFilePart = (s: string): string =>
  s.replace(/[^A-Za-z0-9._-]+/g, '-').slice(0, 64) || 'label';

export const labelFileName = (
  parts: { lot: string; content: string; jobId: number },
  ext: 'pdf' | 'png',
): string => `${safeFilePart(parts.lot)}_${safeFilePart(parts.content)}_job${parts.jobId}.${ext}`;

export const writeLabelFile = async (
  dir: string,
  name: string,
  bytes: Uint8Array,
): Promise<Result<{ path: string }, LabelErrorCode>> => {
  const path = join(dir, name);
  const partial = `${path}.partial`;
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(partial, bytes, { flush: true });
    await rename(partial, path);
    return ok({ path });
  } catch (e) {
    await rm(partial, { force: true }).catch(() => undefined);
    const code = (e as NodeJS.ErrnoException).code ?? '';
    return labelErr(
      'LABEL_FILE_WRITE_FAILED',
      `The label file ${path} could not be written (${code || String(e)}).`,
      {
        details: { path, cause: code },
      },
    );
  }
};
