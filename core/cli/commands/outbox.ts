import type { RegisterCommand } from './index';

// Placeholder: this command is being built; it refuses clearly instead of pretending to work.
export const register: RegisterCommand = (program, io) => {
  program
    .command('outbox')
    .description('(not built yet)')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      io.err('linestation: NOT_BUILT: the "outbox" command is not built yet.');
      process.exitCode = 1;
    });
};
