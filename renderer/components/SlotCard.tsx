import { memo } from 'react';
import type { SlotView } from '../../core/contract/index';
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

/** `tracker-bootloader@5.6.0.bin` → `tracker-bootloader@5.6.0`: the file's name without `.bin`. */
const moduleWord = (label: string): string => label.replace(/^.*[\\/]/, '').replace(/\.(bin|dfu)$/i, '');

const SlotCardView = ({ slot }: { slot: SlotView }) => {
  const look = LOOK[slot.state];
  const percent = slot.percent !== undefined ? Math.max(0, Math.min(100, slot.percent)) : undefined;
  return (
    <article
      className={`slot slot-${slot.state}`}
      data-testid={`slot-${slot.label}`}
      data-state={slot.state}
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
        <span className="slot-word" data-testid="slot-word">
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
      {slot.labelSerial && <div className="slot-labelserial">Label {slot.labelSerial}</div>}
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
  a.portPath === b.portPath &&
  Math.round(a.percent ?? -1) === Math.round(b.percent ?? -1) &&
  Math.round((a.bytesPerSecond ?? 0) / 1024) === Math.round((b.bytesPerSecond ?? 0) / 1024) &&
  Math.round((a.etaMs ?? 0) / 1000) === Math.round((b.etaMs ?? 0) / 1000) &&
  a.labelSerial === b.labelSerial &&
  a.error?.code === b.error?.code;

export const SlotCard = memo(SlotCardView, (prev, next) => sameSlot(prev.slot, next.slot));
