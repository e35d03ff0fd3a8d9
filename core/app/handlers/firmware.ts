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
    return ok({ path: file.file, sha256: file.sha256, size: file.size, modules });
  },
} satisfies Pick<Handlers, 'firmware.inspect'>;
