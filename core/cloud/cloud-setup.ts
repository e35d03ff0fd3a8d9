import { err, ok, type Result } from '../errors/result';
import type { RegistrationRequest } from '../store/outbox';

/*
 * Cloud setup the way Particle's manufacturing guide and its example tool
 * (github.com/particle-iot/node-example-device-cloud-setup) do it: import with the SIM, name each
 * device by its serial number, add notes, put it in groups including a date group for the
 * shipment, lock it to the product firmware version. This module turns the profile's options and
 * one device's identity into the outbox request; the drain sends it (outbox-drain.ts).
 */

/** Placeholders a name or notes template may use. */
export const TEMPLATE_FIELDS = [
  'serial',
  'deviceId',
  'product',
  'productId',
  'platform',
  'lot',
  'station',
  'date',
  'iccid',
  'imei',
] as const;
export type TemplateField = (typeof TEMPLATE_FIELDS)[number];

const PLACEHOLDER = /\{([^{}]*)\}/g;

/** The placeholders of a template that are not TEMPLATE_FIELDS (empty when it is fine). */
export const unknownTemplateFields = (template: string): string[] =>
  [...template.matchAll(PLACEHOLDER)]
    .map((m) => m[1] ?? '')
    .filter((f) => !(TEMPLATE_FIELDS as readonly string[]).includes(f));

/** The names Particle's tools give devices: letters, digits, '_' and '-', up to 64 characters. */
export const DEVICE_NAME = /^[A-Za-z0-9_-]{1,64}$/;

export type TemplateErrorCode = 'CLOUD_SETUP_FIELD_MISSING' | 'CLOUD_SETUP_NAME_INVALID';

/** Fills a template; a placeholder whose value is unknown for this device is an error, not an empty string. */
export const renderTemplate = (
  template: string,
  values: Partial<Record<TemplateField, string | undefined>>,
): Result<string, 'CLOUD_SETUP_FIELD_MISSING'> => {
  const missing: string[] = [];
  const text = template.replace(PLACEHOLDER, (_, field: string) => {
    const v = values[field as TemplateField];
    if (v === undefined || v === '') missing.push(field);
    return v ?? '';
  });
  if (missing.length > 0)
    return err(
      'CLOUD_SETUP_FIELD_MISSING',
      `The template "${template}" needs ${missing.join(', ')}, unknown for this device.`,
      {
        details: { template, missing },
      },
    );
  return ok(text);
};

/** YYYYMMDD of `date` in the station's own time zone (or `timeZone`): the shipment's day. */
export const shipmentDay = (date: Date, timeZone?: string): string => {
  const parts = new Intl.DateTimeFormat('en-CA', {
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    ...(timeZone ? { timeZone } : {}),
  }).formatToParts(date);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
  return `${get('year')}${get('month')}${get('day')}`;
};

/** Cloud setup as a station runs it: the profile's options with the platform's defaults applied. */
export interface CloudSetup {
  /** `import_sims` on the import; default true on cellular platforms. */
  readonly importSims: boolean;
  /** Device name template, e.g. `{serial}` or `{product}-{serial}`. */
  readonly name?: string;
  /** Notes template, e.g. `lot {lot}, station {station}`. */
  readonly notes?: string;
  readonly development?: boolean;
  /** Static groups (the profile's `groups`). */
  readonly groups: readonly string[];
  /** Also the shipment's date group YYYYMMDD_XXXX. */
  readonly dateGroup: boolean;
  /** Lock each device to this product firmware version. */
  readonly desiredFirmwareVersion?: number;
}

/** The setup options a profile holds (profile-schema.ts `registration.setup`). */
export interface CloudSetupOptions {
  readonly importSims?: boolean | undefined;
  readonly name?: string | undefined;
  readonly notes?: string | undefined;
  readonly dateGroup?: boolean | undefined;
  /** true: the product firmware version of the profile's user part; a number: that version. */
  readonly lockFirmwareVersion?: true | number | undefined;
}

export type CloudSetupErrorCode = 'CLOUD_SETUP_NO_FIRMWARE_VERSION';

/**
 * Resolves a profile's setup. `productFirmwareVersion` is the product version of the profile's
 * user part (its module suffix), needed when `lockFirmwareVersion` is true.
 */
export const resolveCloudSetup = (input: {
  readonly setup?: CloudSetupOptions | undefined;
  readonly cellular: boolean;
  readonly development?: boolean | undefined;
  readonly groups?: readonly string[] | undefined;
  readonly productFirmwareVersion?: number | undefined;
}): Result<CloudSetup, CloudSetupErrorCode> => {
  const s = input.setup ?? {};
  let desiredFirmwareVersion: number | undefined;
  if (s.lockFirmwareVersion === true) {
    if (input.productFirmwareVersion === undefined)
      return err(
        'CLOUD_SETUP_NO_FIRMWARE_VERSION',
        'The profile asks to lock devices to the product firmware version, but its firmware has no user part with a product version.',
        {
          remedy:
            'Add the product firmware (user part) to the profile, or set lockFirmwareVersion to the version number.',
        },
      );
    desiredFirmwareVersion = input.productFirmwareVersion;
  } else if (typeof s.lockFirmwareVersion === 'number') desiredFirmwareVersion = s.lockFirmwareVersion;
  return ok({
    // Particle's guide imports cellular devices with their SIMs; a Wi-Fi device has none.
    importSims: input.cellular && (s.importSims ?? true),
    ...(s.name ? { name: s.name } : {}),
    ...(s.notes ? { notes: s.notes } : {}),
    ...(input.development ? { development: true } : {}),
    groups: [...(input.groups ?? [])],
    dateGroup: s.dateGroup ?? false,
    ...(desiredFirmwareVersion === undefined ? {} : { desiredFirmwareVersion }),
  });
};

/** What is known about one device and the line when it is registered. */
export interface DeviceFacts {
  readonly deviceId: string;
  readonly serialNumber?: string | undefined;
  readonly iccid?: string | undefined;
  readonly imei?: string | undefined;
  /** The product's slug when it has one, else its ID: the `{product}` placeholder. */
  readonly product: string;
  readonly productId: string | number;
  readonly platform?: string | undefined;
  readonly lot?: string | undefined;
  readonly station?: string | undefined;
  /** When the device was registered (the date group and `{date}`); default now. */
  readonly at?: Date | undefined;
  readonly timeZone?: string | undefined;
}

/** A part of the setup left out for this device, with why (log it). */
export interface SkippedSetup {
  readonly field: 'name' | 'notes';
  readonly code: TemplateErrorCode;
  readonly reason: string;
}

/**
 * The outbox request for one device: name and notes rendered (a template this device cannot fill,
 * such as `{serial}` without a serial number, is left out and reported in `skipped`), the SIM with
 * its ICCID, groups, the date group's day, the firmware lock.
 */
export const registrationRequestFor = (
  setup: CloudSetup,
  facts: DeviceFacts,
): { readonly request: RegistrationRequest; readonly skipped: readonly SkippedSetup[] } => {
  const day = shipmentDay(facts.at ?? new Date(), facts.timeZone);
  const values: Partial<Record<TemplateField, string | undefined>> = {
    serial: facts.serialNumber,
    deviceId: facts.deviceId,
    product: facts.product,
    productId: String(facts.productId),
    platform: facts.platform,
    lot: facts.lot,
    station: facts.station,
    date: day,
    iccid: facts.iccid,
    imei: facts.imei,
  };
  const skipped: SkippedSetup[] = [];
  const render = (field: 'name' | 'notes', template: string | undefined): string | undefined => {
    if (!template) return undefined;
    const r = renderTemplate(template, values);
    if (!r.ok) {
      skipped.push({ field, code: r.error.code, reason: r.error.message });
      return undefined;
    }
    if (field === 'name' && !DEVICE_NAME.test(r.value)) {
      skipped.push({
        field,
        code: 'CLOUD_SETUP_NAME_INVALID',
        reason: `The name "${r.value.slice(0, 80)}" is not a device name (letters, digits, '_' and '-', up to 64 characters).`,
      });
      return undefined;
    }
    return r.value;
  };
  const name = render('name', setup.name);
  const notes = render('notes', setup.notes);
  return {
    request: {
      productId: facts.productId,
      deviceId: facts.deviceId,
      ...(setup.development ? { development: true } : {}),
      ...(setup.groups.length > 0 ? { groups: setup.groups } : {}),
      ...(setup.importSims ? { importSims: true } : {}),
      ...(setup.importSims && facts.iccid ? { iccid: facts.iccid } : {}),
      ...(name ? { name } : {}),
      ...(notes ? { notes } : {}),
      ...(setup.desiredFirmwareVersion === undefined
        ? {}
        : { desiredFirmwareVersion: setup.desiredFirmwareVersion }),
      ...(setup.dateGroup ? { dateGroup: day } : {}),
    },
    skipped,
  };
};
