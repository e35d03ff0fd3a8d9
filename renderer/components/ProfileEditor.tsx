import { type FormEvent, useEffect, useState } from 'react';
import type { LinestationBridge, ProfileWithReadiness, ResponseOf } from '../../core/contract/index';
import { BridgeError } from '../bridge';
import { InspectionTable } from './InspectionTable';

/**
 * Create a profile or edit the current one. The form holds the answers an engineer gives; the
 * core validates the whole profile and answers every problem in words. Saving drops the lock:
 * the checklist then shows what is open, and "Lock profile" signs it off again.
 */
interface Draft {
  path: string;
  name: string;
  productId: string;
  organization: string;
  platform: string;
  mode: '' | 'flash-on-line' | 'ota-on-setup';
  auth: '' | 'simple' | 'two-legged' | 'login-with-particle';
  privateBeta: '' | 'yes' | 'no';
  registration: '' | 'cloud' | 'offline';
  apiBaseUrl: string;
  tokenEnv: string;
  development: '' | 'yes' | 'no';
  groups: string;
  slots: string;
  firmware: string;
}

const EMPTY: Draft = {
  path: '',
  name: '',
  productId: '',
  organization: '',
  platform: 'boron',
  mode: '',
  auth: '',
  privateBeta: '',
  registration: '',
  apiBaseUrl: 'https://api.particle.io',
  tokenEnv: 'PARTICLE_ACCESS_TOKEN',
  development: '',
  groups: '',
  slots: '4',
  firmware: '',
};

const str = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');
const yesNo = (v: unknown): '' | 'yes' | 'no' => (v === true ? 'yes' : v === false ? 'no' : '');
const obj = (v: unknown): Record<string, unknown> =>
  typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};

const fromProfile = (path: string, p: Record<string, unknown>): Draft => {
  const product = obj(p.product);
  const reg = obj(p.registration);
  const firmware = Array.isArray(p.firmware) ? p.firmware.map((f) => str(obj(f).path)) : [];
  return {
    path,
    name: str(product.name),
    productId: str(product.id),
    organization: str(p.organization),
    platform: str(p.platform),
    mode: (str(p.provisioningMode) as Draft['mode']) || '',
    auth: (str(p.customerAuth) as Draft['auth']) || '',
    privateBeta: yesNo(p.privateBeta),
    registration: (str(reg.mode) as Draft['registration']) || '',
    apiBaseUrl: str(reg.apiBaseUrl) || EMPTY.apiBaseUrl,
    tokenEnv: str(reg.tokenEnv) || EMPTY.tokenEnv,
    development: yesNo(p.development),
    groups: Array.isArray(p.groups) ? p.groups.map(str).join(', ') : '',
    slots: str(obj(p.slots).count) || '1',
    firmware: firmware.join('\n'),
  };
};

/** Keeps what the form does not show (pins, labels, retry policy) from the file being edited. */
const toProfile = (d: Draft, base: Record<string, unknown>): Record<string, unknown> => {
  const pins = new Map(
    (Array.isArray(base.firmware) ? base.firmware : []).map((f) => [str(obj(f).path), str(obj(f).sha256)]),
  );
  const out: Record<string, unknown> = {
    ...base,
    schemaVersion: 1,
    product: { ...obj(base.product), id: Number(d.productId), name: d.name.trim() },
    platform: d.platform.trim(),
    firmware: d.firmware
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .map((path) => (pins.get(path) ? { path, sha256: pins.get(path) } : { path })),
    groups: d.groups
      .split(',')
      .map((g) => g.trim())
      .filter(Boolean),
    slots: { ...obj(base.slots), count: Number(d.slots) },
  };
  const set = (key: string, value: unknown) => {
    if (value === undefined) delete out[key];
    else out[key] = value;
  };
  set('organization', d.organization.trim() || undefined);
  set('provisioningMode', d.mode || undefined);
  set('customerAuth', d.auth || undefined);
  set('privateBeta', d.privateBeta ? d.privateBeta === 'yes' : undefined);
  set('development', d.development ? d.development === 'yes' : undefined);
  set(
    'registration',
    d.registration === 'cloud'
      ? { mode: 'cloud', apiBaseUrl: d.apiBaseUrl.trim(), tokenEnv: d.tokenEnv.trim() }
      : d.registration === 'offline'
        ? { mode: 'offline' }
        : undefined,
  );
  return out;
};

export const ProfileEditor = ({
  bridge,
  current,
  onSaved,
}: {
  bridge: LinestationBridge;
  current: ProfileWithReadiness | undefined;
  onSaved: (p: ProfileWithReadiness) => void;
}) => {
  const [draft, setDraft] = useState<Draft>(EMPTY);
  const [base, setBase] = useState<Record<string, unknown>>({});
  const [problem, setProblem] = useState<string | undefined>();
  const [saved, setSaved] = useState<string | undefined>();
  const [picked, setPicked] = useState<ResponseOf<'firmware.inspect'>[]>([]);

  /** The open dialog (desktop app); each chosen file is inspected at once, problems in words. */
  const chooseFirmware = async () => {
    setProblem(undefined);
    const r = await bridge.invoke('files.choose', {
      kind: 'firmware',
      multiple: true,
      ...(draft.path.trim() ? { relativeTo: draft.path.trim() } : {}),
    });
    if (!r.ok) return setProblem(`${r.error.message}${r.error.remedy ? ` ${r.error.remedy}` : ''}`);
    setDraft((d) => ({
      ...d,
      firmware: [...d.firmware.split('\n').filter(Boolean), ...r.value.paths].join('\n'),
    }));
    const inspected: ResponseOf<'firmware.inspect'>[] = [];
    for (const path of r.value.absolutePaths) {
      const i = await bridge.invoke('firmware.inspect', { path });
      if (i.ok) inspected.push(i.value);
      else setProblem(`${path}: ${i.error.message}`);
    }
    setPicked(inspected);
  };

  const editCurrent = async () => {
    const r = await bridge.invoke('profile.read', {});
    if (!r.ok) return setProblem(new BridgeError(r.error).message);
    setBase(r.value.profile);
    setDraft(fromProfile(r.value.path, r.value.profile));
  };

  // Only when the editor opens: a save emits profile.changed and must not reset the form.
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs once on open, on purpose.
  useEffect(() => {
    if (current) void editCurrent();
  }, []);

  const field = (key: keyof Draft) => ({
    id: `pe-${key}`,
    value: draft[key],
    onChange: (e: { target: { value: string } }) => setDraft((d) => ({ ...d, [key]: e.target.value })),
    'data-testid': `pe-${key}`,
  });

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setProblem(undefined);
    setSaved(undefined);
    const r = await bridge.invoke('profile.save', {
      path: draft.path.trim(),
      profile: toProfile(draft, base),
    });
    if (!r.ok) {
      const details = Array.isArray(r.error.details?.issues)
        ? ` ${(r.error.details.issues as string[]).join(' ')}`
        : '';
      setProblem(`${r.error.message}${details}${r.error.remedy ? ` ${r.error.remedy}` : ''}`);
      return;
    }
    setSaved('Saved. The checklist below shows what is still open; lock the profile when it is all green.');
    onSaved(r.value);
  };

  const choice = (key: keyof Draft, label: string, options: readonly [string, string][]) => (
    <label htmlFor={`pe-${key}`}>
      {label}
      <select {...field(key)}>
        <option value="">(not answered)</option>
        {options.map(([v, text]) => (
          <option key={v} value={v}>
            {text}
          </option>
        ))}
      </select>
    </label>
  );

  return (
    <form className="card profile-editor" onSubmit={(e) => void submit(e)} data-testid="profile-editor">
      <h2>Create or edit a profile</h2>
      <div className="export-row">
        <button type="button" className="button" onClick={() => void editCurrent()} disabled={!current}>
          Edit the current profile
        </button>
        <button
          type="button"
          className="button"
          onClick={() => {
            setBase({});
            setDraft(EMPTY);
          }}
        >
          New profile
        </button>
      </div>
      <div className="editor-grid">
        <label htmlFor="pe-path">
          Profile file
          <input {...field('path')} placeholder="/line/widget.profile.json" />
        </label>
        <label htmlFor="pe-name">
          Product name
          <input {...field('name')} />
        </label>
        <label htmlFor="pe-productId">
          Product ID
          <input {...field('productId')} inputMode="numeric" />
        </label>
        <label htmlFor="pe-organization">
          Organization
          <input {...field('organization')} />
        </label>
        <label htmlFor="pe-platform">
          Platform
          <input {...field('platform')} placeholder="boron, p2, msom, …" />
        </label>
        <label htmlFor="pe-slots">
          Slots (1–24)
          <input {...field('slots')} inputMode="numeric" />
        </label>
        {choice('mode', 'Programming', [
          ['flash-on-line', 'Flash on the line'],
          ['ota-on-setup', 'OTA on setup'],
        ])}
        {choice('auth', 'Customer authentication', [
          ['simple', 'Simple'],
          ['two-legged', 'Two-legged'],
          ['login-with-particle', 'Login with Particle'],
        ])}
        {choice('privateBeta', 'Private beta', [
          ['yes', 'Yes'],
          ['no', 'No'],
        ])}
        {choice('development', 'Development devices', [
          ['yes', 'Yes'],
          ['no', 'No'],
        ])}
        {choice('registration', 'Registration', [
          ['cloud', 'Cloud'],
          ['offline', 'Offline (queued)'],
        ])}
        {draft.registration === 'cloud' && (
          <>
            <label htmlFor="pe-apiBaseUrl">
              Cloud URL
              <input {...field('apiBaseUrl')} />
            </label>
            <label htmlFor="pe-tokenEnv">
              Token variable name
              <input {...field('tokenEnv')} />
            </label>
          </>
        )}
        <label htmlFor="pe-groups">
          Device groups (comma separated)
          <input {...field('groups')} />
        </label>
      </div>
      <label htmlFor="pe-firmware">
        Firmware files, one per line, relative to the profile's folder (inspect them below first)
        <textarea {...field('firmware')} rows={3} />
      </label>
      <div className="export-row">
        <button
          type="button"
          className="button"
          onClick={() => void chooseFirmware()}
          data-testid="pe-choose"
        >
          Choose firmware files…
        </button>
      </div>
      {picked.map((p) => (
        <InspectionTable key={p.path} result={p} />
      ))}
      <button type="submit" className="button" disabled={!draft.path.trim()} data-testid="pe-save">
        Save profile
      </button>
      {problem && (
        <p className="remedy" role="alert" data-testid="pe-problem">
          {problem}
        </p>
      )}
      {saved && (
        <p role="status" data-testid="pe-saved">
          {saved}
        </p>
      )}
    </form>
  );
};
