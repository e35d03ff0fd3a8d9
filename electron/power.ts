/**
 * Keeps the station awake while a batch runs: a sleeping screen or a suspended machine in the
 * middle of flashing would interrupt every slot. The blocker is released as soon as the batch
 * stops, so an idle station still sleeps normally.
 */
export interface PowerSaveBlockerLike {
  start(type: 'prevent-app-suspension' | 'prevent-display-sleep'): number;
  stop(id: number): void;
  isStarted(id: number): boolean;
}

export const batchPowerGuard = (blocker: PowerSaveBlockerLike) => {
  let id: number | undefined;
  return {
    /** Call with whether a batch is running now; idempotent. */
    update(running: boolean): void {
      if (running && (id === undefined || !blocker.isStarted(id)))
        id = blocker.start('prevent-display-sleep');
      else if (!running && id !== undefined) {
        if (blocker.isStarted(id)) blocker.stop(id);
        id = undefined;
      }
    },
    get active(): boolean {
      return id !== undefined;
    },
  };
};
