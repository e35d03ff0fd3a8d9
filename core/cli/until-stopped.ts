/**
 * Resolves when the operator stops a long-running command (Ctrl-C, or SIGTERM from a service
 * manager), with the signal's name. Its listeners are removed then, so the next Ctrl-C is the
 * default one again: a cleanup that hangs can still be interrupted.
 */
export const untilStopped = (): Promise<NodeJS.Signals> =>
  new Promise((resolve) => {
    const on = (signal: NodeJS.Signals) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(signal);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
