/*
 * A simulated Particle device's USB serial port in listening mode: it answers `i`, `v`, `s` (and
 * `m`) the way Device OS's serial setup console does. Transport-free: feed it received bytes, it
 * calls `send` with what the device would write back. The process entry
 * (serial-listening-main.ts) puts it on a real pseudo-terminal for tests, and the USB rig puts it
 * on a gadget's CDC-ACM tty.
 *
 * Faults model what a station meets on a real line: a device in normal mode (runs its app and
 * ignores the letters), a silent one, log noise around answers, answers dribbled out in small
 * pieces, and answers cut off half-way.
 */

export interface ListeningModuleJson {
  readonly s: number;
  readonly l: string;
  readonly vc: number;
  readonly vv: number;
  readonly f: string;
  readonly n: string;
  readonly v: number;
  readonly d: readonly { readonly f: string; readonly n: string; readonly v: number }[];
}

export interface ListeningDeviceProfile {
  readonly deviceId: string;
  readonly platformId: number;
  readonly systemVersion: string;
  /** Cellular devices also report these on `i`. */
  readonly imei?: string;
  readonly iccid?: string;
  readonly modules?: readonly ListeningModuleJson[];
  /** The system part's module version when `modules` is not given (e.g. 5302 for Device OS 5.3.2). */
  readonly systemModuleVersion?: number;
  /**
   * How `i` is printed:
   * - 'modern': "Your device id is …" then "Your IMEI is …" / "Your ICCID is …";
   * - 'legacy': "Your device id is …" then "IMEI: …" / "ICCID: …";
   * - 'device-os': as Device OS 6.2 system_setup.cpp does it. A device with any system property
   *   (device secret, serial number, cellular) lists "Device ID: …" and one "Key: value" line per
   *   property, in the HAL's order: Device Secret, Serial Number, then IMEI, ICCID and Cell Radio
   *   Version on cellular devices (blank when the modem could not be read). A device with none
   *   prints "Your device id is …".
   */
  readonly idFormat?: 'modern' | 'legacy' | 'device-os';
  /** 'device-os' format: the sticker serial ("Serial Number: …"). */
  readonly serialNumber?: string;
  /** 'device-os' format: the mobile secret Device OS prints as "Device Secret: …". */
  readonly deviceSecret?: string;
  /** 'device-os' format: a cellular device prints IMEI/ICCID lines even when they are blank. */
  readonly cellular?: boolean;
  /** 'device-os' format: the modem firmware ("Cell Radio Version: …"). */
  readonly radioFirmware?: string;
}

export interface ListeningFaults {
  /** 'listening' answers; 'normal' runs an app that ignores the letters; 'silent' says nothing. */
  readonly mode?: 'listening' | 'normal' | 'silent';
  /** Text written before every answer (log output from the application or system). */
  readonly noise?: string;
  /** Split each answer into pieces of this many bytes… */
  readonly chunkSize?: number;
  /** …sent this many ms apart. */
  readonly chunkDelayMs?: number;
  /** Send only this fraction (0..1) of each answer, as a device that resets mid-answer would. */
  readonly truncateAt?: number;
  /** In 'normal' mode, a log line written every so often (ms); 0 for none. */
  readonly logEveryMs?: number;
}

/** A bootloader, one system part and a user part, as a freshly flashed device reports them. */
export const defaultModules = (systemModuleVersion: number): ListeningModuleJson[] => [
  { s: 49152, l: 'm', vc: 30, vv: 30, f: 'b', n: '0', v: 1200, d: [] },
  {
    s: 1048576,
    l: 'm',
    vc: 30,
    vv: 30,
    f: 's',
    n: '1',
    v: systemModuleVersion,
    d: [{ f: 'b', n: '0', v: 1200 }],
  },
  {
    s: 262144,
    l: 'm',
    vc: 30,
    vv: 30,
    f: 'u',
    n: '1',
    v: 6,
    d: [{ f: 's', n: '1', v: systemModuleVersion }],
  },
];

/** The exact text Device OS writes for one command letter, or undefined for letters it ignores. */
export const listeningAnswer = (profile: ListeningDeviceProfile, letter: string): string | undefined => {
  switch (letter) {
    case 'i': {
      if (profile.idFormat === 'device-os') return deviceOsIdentification(profile);
      let text = `Your device id is ${profile.deviceId}\r\n`;
      const legacy = profile.idFormat === 'legacy';
      if (profile.imei) text += legacy ? `IMEI: ${profile.imei}\r\n` : `Your IMEI is ${profile.imei}\r\n`;
      if (profile.iccid)
        text += legacy ? `ICCID: ${profile.iccid}\r\n` : `Your ICCID is ${profile.iccid}\r\n`;
      return text;
    }
    case 'v':
      return `system firmware version: ${profile.systemVersion}\n`;
    case 's': {
      const modules = profile.modules ?? defaultModules(profile.systemModuleVersion ?? 3000);
      const extra = profile.imei ? { imei: profile.imei, iccid: profile.iccid } : {};
      return `${JSON.stringify({ p: profile.platformId, ...extra, m: modules })}\r\n`;
    }
    case 'm':
      return `Your device MAC address is\r\n${macFromId(profile.deviceId)}\r\n`;
    default:
      return undefined;
  }
};

/** Device OS 6.2 system_setup.cpp `i`: HAL_OTA_Add_System_Info's key/value list, keys renamed by filter_key. */
const deviceOsIdentification = (profile: ListeningDeviceProfile): string => {
  const props: [string, string][] = [];
  if (profile.deviceSecret) props.push(['Device Secret', profile.deviceSecret]);
  if (profile.serialNumber) props.push(['Serial Number', profile.serialNumber]);
  if (profile.cellular || profile.imei)
    props.push(
      ['IMEI', profile.imei ?? ''],
      ['ICCID', profile.iccid ?? ''],
      ['Cell Radio Version', profile.radioFirmware ?? ''],
    );
  if (props.length === 0) return `Your device id is ${profile.deviceId}\r\n`;
  return `Device ID: ${profile.deviceId}\r\n${props.map(([k, v]) => `${k}: ${v}\r\n`).join('')}`;
};

const macFromId = (id: string): string => (id.slice(-12).match(/../g) ?? []).join(':');

export class ListeningResponder {
  private timers = new Set<ReturnType<typeof setTimeout>>();
  private logTimer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly profile: ListeningDeviceProfile,
    private readonly send: (text: string) => void,
    private readonly faults: ListeningFaults = {},
  ) {
    if ((faults.mode ?? 'listening') === 'normal' && faults.logEveryMs)
      this.logTimer = setInterval(
        () => this.send('0000012345 [app] INFO: sensor reading 42\r\n'),
        faults.logEveryMs,
      );
  }

  /** Bytes the host wrote. Each byte is one command, as in Device OS. */
  receive(data: Uint8Array | string): void {
    const text = typeof data === 'string' ? data : new TextDecoder('latin1').decode(data);
    for (const letter of text) this.onLetter(letter);
  }

  stop(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (this.logTimer) clearInterval(this.logTimer);
  }

  private onLetter(letter: string): void {
    if ((this.faults.mode ?? 'listening') !== 'listening') return;
    const answer = listeningAnswer(this.profile, letter);
    if (answer === undefined) return;
    let text = (this.faults.noise ?? '') + answer;
    if (this.faults.truncateAt !== undefined)
      text = text.slice(0, Math.floor(text.length * this.faults.truncateAt));
    const size = this.faults.chunkSize ?? 0;
    if (size <= 0) {
      this.send(text);
      return;
    }
    const delay = this.faults.chunkDelayMs ?? 5;
    for (let i = 0, n = 0; i < text.length; i += size, n++) {
      const piece = text.slice(i, i + size);
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.send(piece);
      }, n * delay);
      this.timers.add(timer);
    }
  }
}
