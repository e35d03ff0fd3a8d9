/** Small display helpers shared by the screens. */

export const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

export const rate = (bytesPerSecond: number | undefined): string => {
  if (bytesPerSecond === undefined || !Number.isFinite(bytesPerSecond)) return '';
  if (bytesPerSecond >= 1024 * 1024) return `${(bytesPerSecond / 1024 / 1024).toFixed(1)} MB/s`;
  return `${Math.round(bytesPerSecond / 1024)} KB/s`;
};

/** A typical duration, said loosely: "about 40 s", "about 2 min". */
export const about = (ms: number): string => {
  const s = Math.max(1, Math.round(ms / 1000));
  return s >= 90 ? `about ${Math.round(s / 60)} min` : `about ${s} s`;
};

export const eta = (ms: number | undefined): string => {
  if (ms === undefined || !Number.isFinite(ms)) return '';
  const s = Math.max(0, Math.round(ms / 1000));
  // "0 s left" while the readback still runs reads as a stuck slot; say nothing instead.
  if (s < 1) return '';
  return s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s left` : `${s} s left`;
};

export const clock = (iso: string): string => {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleTimeString([], { hour12: false });
};

export const dateTime = (iso: string | null): string => {
  if (!iso) return '–';
  const d = new Date(iso);
  return Number.isNaN(d.getTime())
    ? iso
    : `${d.toLocaleDateString()} ${d.toLocaleTimeString([], { hour12: false })}`;
};

export const STEP_WORDS: Readonly<Record<string, string>> = {
  identify: 'Identifying',
  'service-mode': 'Service Mode',
  'normal-update': 'Updating (normal mode)',
  'ensure-dfu': 'Entering DFU',
  flash: 'Flashing',
  leave: 'Restarting',
  confirm: 'Confirming',
  'setup-done': 'Marking set up',
  register: 'Registering',
};

export const modeBadge = (mode: string | undefined): string =>
  mode === 'ota-on-setup' ? 'OTA ON SETUP' : mode === 'flash-on-line' ? 'FLASH ON LINE' : 'MODE NOT SET';
