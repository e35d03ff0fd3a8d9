import { memo } from 'react';
import type { SlotLabelView, SlotView } from '../../core/contract/index';
import { about, eta, rate, STEP_WORDS } from '../format';

/**
 * One slot as a big block. State is told three ways, so it reads for colour-blind people and
 * from across the bench: colour, a shape (✓ ✗ ▶ ○, plus stripes on FAIL) and a word.
 */
const LOOK: Record<SlotView['state'], { icon: string; word: string }> = {
  empty: { icon: '○', word: 'EMPTY' },
  running: { icon: '▶', word: 'WORKING' },
  passed: { icon: '✓', word: 'PASS' },
  failed: { icon: '✗', word: 'FAIL' },
  skipped: { icon: '↷', word: 'DONE BEFORE' },
  interrupted: { icon: '!', word: 'STOPPED' },
};

/**
 * A PASS's printed label. Waiting on the printer is not a failure (amber, the printer's problem
 * and what to do); a wrong label scanned back is a loud failure of the label (red stripes, both
 * values), while the device's PASS stands.
 */
const LabelLine = ({ label }: { label: SlotLabelView }) => {
  if (label.verified === 'mismatch')
    return (
      <div className="slot-error slot-label-line" data-testid="slot-label" data-label="mismatch">
        <strong>{label.problem?.title ?? 'Wrong label'}</strong>
        <span>
          The label says <b data-testid="label-scanned">{label.mismatch?.scanned ?? '?'}</b>
        </span>
        <span>
          This device is <b data-testid="label-expected">{label.mismatch?.expected ?? label.content}</b>
        </span>
        {label.problem && <span className="slot-remedy">{label.problem.remedy}</span>}
      </div>
    );
  if (label.verified === 'verified')
    return (
      <div className="slot-label-line" data-testid="slot-label" data-label="verified">
        ✓ label verified
      </div>
    );
  if (label.state === 'pending')
    return (
      <div className="slot-label-line slot-label-wait" data-testid="slot-label" data-label="pending">
        {label.problem ? (
          <>
            <strong>{label.problem.title}</strong>
            <span className="slot-remedy">{label.problem.remedy}</span>
          </>
        ) : (
          'label queued for the printer'
        )}
      </div>
    );
  if (label.state === 'failed')
    return (
      <div className="slot-error slot-label-line" data-testid="slot-label" data-label="failed">
        <strong>Label not printed: {label.problem?.title ?? 'failed'}</strong>
        {label.problem && <span className="slot-remedy">{label.problem.remedy}</span>}
        {label.problem && <span className="slot-code">{label.problem.code}</span>}
      </div>
    );
  return (
    <div className="slot-label-line" data-testid="slot-label" data-label="printed">
      label printed{label.maybePrinted ? ' (a spare may have come out: discard it)' : ''}
    </div>
  );
};

/** The big word: a PASS whose label waits says so; a wrong label turns the slot to a label FAIL. */
const lookOf = (slot: SlotView): { icon: string; word: string; mismatch: boolean } => {
  const l = slot.deviceLabel;
  if (slot.state === 'passed' && l?.verified === 'mismatch')
    return { icon: '✗', word: 'LABEL MISMATCH', mismatch: true };
  if (slot.state === 'passed' && l?.state === 'pending')
    return { icon: '✓', word: 'PASS, label pending', mismatch: false };
  return { ...LOOK[slot.state], mismatch: false };
};

/** `tracker-bootloader@5.6.0.bin` → `tracker-bootloader@5.6.0`: the file's name without `.bin`. */
const moduleWord = (label: string): string => label.replace(/^.*[\\/]/, '').replace(/\.(bin|dfu)$/i, '');

const SlotCardView = ({ slot }: { slot: SlotView }) => {
  const look = lookOf(slot);
  const percent = slot.percent !== undefined ? Math.max(0, Math.min(100, slot.percent)) : undefined;
  return (
    <article
      className={`slot slot-${slot.state}${look.mismatch ? ' slot-label-mismatch' : ''}`}
      data-testid={`slot-${slot.label}`}
      data-state={slot.state}
      data-label={slot.deviceLabel?.verified ?? slot.deviceLabel?.state}
      aria-label={`Slot ${slot.label}: ${look.word}`}
    >
      <header className="slot-head">
        <span className="slot-label">{slot.label}</span>
        <span className="slot-port">{slot.portPath ?? ''}</span>
      </header>
      <div className="slot-state">
        <span className="slot-icon" aria-hidden="true">
          {look.icon}
        </span>
        <span
          className={`slot-word${look.word.length > 12 ? ' slot-word-long' : ''}`}
          data-testid="slot-word"
        >
          {look.word}
        </span>
      </div>
      {slot.state === 'running' && (
        <div className="slot-progress">
          <div className="slot-step" data-testid="slot-step">
            {slot.module
              ? `${moduleWord(slot.module)} (${slot.path === 'normal' ? 'normal mode' : 'DFU'})`
              : (STEP_WORDS[slot.step ?? ''] ?? 'Starting')}
            {percent !== undefined ? ` ${Math.round(percent)}%` : ''}
          </div>
          {percent === undefined && slot.activity && (
            // A device applying firmware (NCP: minutes) has no bytes to count: say what it does and
            // how long that usually takes, so the slot never looks hung.
            <div className="slot-activity" data-testid="slot-activity">
              {slot.activity.split(': ').at(-1)}
              {slot.expectedMs ? `, usually ${about(slot.expectedMs)}` : ''}
            </div>
          )}
          <progress max={100} value={percent ?? 0} aria-label="progress" />
          <div className="slot-speed">
            {[rate(slot.bytesPerSecond), eta(slot.etaMs)].filter(Boolean).join(' · ') || '\u00a0'}
          </div>
        </div>
      )}
      {slot.deviceId && (
        <div className="slot-device" data-testid="slot-device">
          {slot.deviceId}
        </div>
      )}
      {slot.serialNumber && (
        <div className="slot-identity" data-testid="slot-serial">
          Serial {slot.serialNumber}
        </div>
      )}
      {slot.iccid && (
        <div className="slot-identity" data-testid="slot-iccid">
          ICCID {slot.iccid}
        </div>
      )}
      {slot.labelSerial && <div className="slot-labelserial">Label {slot.labelSerial}</div>}
      {slot.deviceLabel && slot.state === 'passed' && <LabelLine label={slot.deviceLabel} />}
      {slot.warning && slot.state === 'passed' && (
        // A good device whose SIM the cloud refused: it passed, but an engineer must see it.
        <div className="slot-warning" data-testid="slot-warning">
          <strong>{slot.warning.title}</strong>
          <span className="slot-remedy">{slot.warning.remedy}</span>
          <span className="slot-code">{slot.warning.code}</span>
        </div>
      )}
      {slot.error && (slot.state === 'failed' || slot.state === 'interrupted') && (
        <div className="slot-error" data-testid="slot-reason">
          <strong>{slot.error.title}</strong>
          <span className="slot-remedy">{slot.error.remedy}</span>
          <span className="slot-code">{slot.error.code}</span>
        </div>
      )}
    </article>
  );
};

/** Every snapshot carries new slot objects; a slot whose fields did not change is not re-rendered. */
const sameSlot = (a: SlotView, b: SlotView): boolean =>
  a.state === b.state &&
  a.label === b.label &&
  a.step === b.step &&
  a.activity === b.activity &&
  a.module === b.module &&
  a.deviceId === b.deviceId &&
  a.serialNumber === b.serialNumber &&
  a.iccid === b.iccid &&
  a.warning?.code === b.warning?.code &&
  a.portPath === b.portPath &&
  Math.round(a.percent ?? -1) === Math.round(b.percent ?? -1) &&
  Math.round((a.bytesPerSecond ?? 0) / 1024) === Math.round((b.bytesPerSecond ?? 0) / 1024) &&
  Math.round((a.etaMs ?? 0) / 1000) === Math.round((b.etaMs ?? 0) / 1000) &&
  a.labelSerial === b.labelSerial &&
  a.error?.code === b.error?.code &&
  a.deviceLabel?.jobId === b.deviceLabel?.jobId &&
  a.deviceLabel?.state === b.deviceLabel?.state &&
  a.deviceLabel?.verified === b.deviceLabel?.verified &&
  a.deviceLabel?.problem?.code === b.deviceLabel?.problem?.code &&
  a.deviceLabel?.mismatch?.scanned === b.deviceLabel?.mismatch?.scanned;

export const SlotCard = memo(SlotCardView, (prev, next) => sameSlot(prev.slot, next.slot));
