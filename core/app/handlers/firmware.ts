import { dirname, isAbsolute, relative } from 'node:path';
import { err, ok } from '../../errors/result';
import { defaultFirmwareChecker } from '../../station/readiness-firmware';
import type { Handlers } from '../context';
import { modulesOf } from '../views';

export const firmwareHandlers = {
  'firmware.inspect': async (request, ctx) => {
    const checker = ctx.options.firmware ?? defaultFirmwareChecker;
    const file = await checker.inspect(ctx.resolvePath(request.path));
    const modules = modulesOf(file);
    // A file that parsed to nothing is an error; one with modules and a problem still shows them.
    if (file.error && modules.length === 0)
      return err(file.error.code, file.error.message, {
        ...(file.error.remedy ? { remedy: file.error.remedy } : {}),
        ...(file.error.details ? { details: { ...file.error.details } } : {}),
      });
    const problems = file.error
      ? [`${file.error.message}${file.error.remedy ? ` ${file.error.remedy}` : ''}`]
      : [];
    return ok({ path: file.file, sha256: file.sha256, size: file.size, modules, problems });
  },

  'files.choose': async (request, ctx) => {
    const choose = ctx.options.chooseOpenPaths;
    if (!choose)
      return err('NO_OPEN_DIALOG', 'This station cannot show a file dialog.', {
        remedy: 'Type the file path instead.',
      });
    const picked = await choose(request.kind, request.multiple);
    const base = request.relativeTo ? dirname(ctx.resolvePath(request.relativeTo)) : undefined;
    // Profiles refer to firmware by relative path; a file on another drive stays absolute and
    // the profile check then says so in words.
    const paths = picked.map((p) => {
      if (!base) return p;
      const rel = relative(base, p);
      return isAbsolute(rel) ? p : rel;
    });
    return ok({ paths, absolutePaths: picked });
  },
} satisfies Pick<Handlers, 'firmware.inspect' | 'files.choose'>;
