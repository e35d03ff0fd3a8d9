import { type FormEvent, type ReactNode, useEffect, useRef, useState } from 'react';
import type { LinestationBridge, ProfileView, StationState } from '../../core/contract/index';
import { BridgeError } from '../bridge';
import { beep } from '../sound';
import { EventLog } from './EventLog';
import { SlotCard } from './SlotCard';
import { StationHeader } from './StationHeader';

interface Props {
  bridge: LinestationBridge;
  state: StationState;
  profile: ProfileView | undefined;
  onChange: (l: (prev: StationState | undefined, next: StationState) => void) => () => void;
  apply: (s: StationState) => void;
  /** The profile panel shown while no batch runs (readiness, firmware). */
  idle: ReactNode;
}

const isTyping = (t: EventTarget | null): boolean =>
  t instanceof HTMLElement && (t.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(t.tagName));

/**
 * The operator's screen. A barcode scanner types like a keyboard and ends with Enter: with no
 * batch running a scan is a lot and starts the batch; while one runs a scan is a label serial,
 * paired with the next device that passes. Devices start on plug-in; nothing else to click.
 */
export const StationScreen = ({ bridge, state, profile, onChange, apply, idle }: Props) => {
  const [scan, setScan] = useState('');
  const [operator, setOperator] = useState(() => localStorage.getItem('linestation.operator') ?? '');
  const [sound, setSound] = useState(() => localStorage.getItem('linestation.sound') === 'on');
  const [message, setMessage] = useState<
    { kind: 'ok' | 'error'; text: string; remedy?: string; loud?: boolean } | undefined
  >();
  // With a label printer and scan-back, a scan while a batch runs checks the printed label.
  const scanBack = state.running && state.labels?.scanBack === true;
  const [busy, setBusy] = useState(false);
  const scanRef = useRef<HTMLInputElement>(null);

  // Keys typed anywhere outside a field go to the scan box: the scanner never needs a click first.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (isTyping(e.target) || e.ctrlKey || e.metaKey || e.altKey) return;
      if (e.key.length === 1 && scanRef.current) {
        e.preventDefault();
        scanRef.current.focus();
        setScan((s) => s + e.key);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  useEffect(() => {
    scanRef.current?.focus();
  }, []);

  useEffect(() => {
    if (!sound) return;
    return onChange((prev, next) => {
      const before = new Map(prev?.slots.map((s) => [s.slot, s]));
      for (const s of next.slots) {
        const was = before.get(s.slot);
        // A wrong label scanned back sounds like a FAIL: the PASS stands, the sticker does not.
        if (s.deviceLabel?.verified === 'mismatch' && was?.deviceLabel?.verified !== 'mismatch') beep('fail');
        if (was?.state === s.state) continue;
        if (s.state === 'passed') beep('pass');
        if (s.state === 'failed') beep('fail');
      }
    });
  }, [sound, onChange]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const value = scan.trim();
    setScan('');
    if (!value || busy) return;
    setBusy(true);
    setMessage(undefined);
    try {
      if (state.running) {
        const by = operator.trim();
        const r = await bridge.invoke('label.scan', { serial: value, ...(by ? { by } : {}) });
        if (!r.ok) {
          // A wrong label on a device is the one label fault a customer sees: say it loudly.
          if (r.error.code === 'LABEL_MISMATCH') {
            setMessage({ kind: 'error', text: r.error.message, remedy: r.error.remedy ?? '', loud: true });
            return;
          }
          throw new BridgeError(r.error);
        }
        const v = r.value.verified;
        setMessage({
          kind: 'ok',
          text: v
            ? `Label ${v.content} verified on ${v.deviceId}${v.alreadyVerified ? ' (scanned before)' : ''}.`
            : `Label ${value} will go with the next PASS.`,
        });
      } else {
        const who = operator.trim() || 'operator';
        localStorage.setItem('linestation.operator', operator.trim());
        const r = await bridge.invoke('batch.start', { lot: value, operator: who });
        if (!r.ok) throw new BridgeError(r.error);
        apply(r.value);
        setMessage({ kind: 'ok', text: `Batch ${value} is running. Plug devices in.` });
      }
    } catch (err) {
      const b = err instanceof BridgeError ? err : undefined;
      setMessage({
        kind: 'error',
        text: err instanceof Error ? err.message : String(err),
        ...(b?.remedy ? { remedy: b.remedy } : {}),
      });
    } finally {
      setBusy(false);
      scanRef.current?.focus();
    }
  };

  const printNow = async () => {
    const r = await bridge.invoke('label.printNow', {});
    if (!r.ok)
      setMessage({
        kind: 'error',
        text: r.error.message,
        ...(r.error.remedy ? { remedy: r.error.remedy } : {}),
      });
    scanRef.current?.focus();
  };

  const stop = async () => {
    const r = await bridge.invoke('batch.stop', {});
    if (r.ok) apply(r.value);
    scanRef.current?.focus();
  };

  const toggleSound = () => {
    const next = !sound;
    setSound(next);
    localStorage.setItem('linestation.sound', next ? 'on' : 'off');
    if (next) beep('pass');
  };

  return (
    <div className="station">
      <StationHeader profile={profile} state={state} />
      <form className="scanbar" onSubmit={(e) => void submit(e)}>
        <label htmlFor="scan" className="scan-label">
          {scanBack
            ? 'Scan the printed label'
            : state.running
              ? 'Scan a label serial'
              : 'Scan a lot to start'}
        </label>
        <input
          id="scan"
          ref={scanRef}
          className="scan-input"
          value={scan}
          onChange={(e) => setScan(e.target.value)}
          autoComplete="off"
          spellCheck={false}
          placeholder={
            scanBack
              ? 'the label on the device, then Enter'
              : state.running
                ? 'label serial, then Enter'
                : 'lot ID, then Enter'
          }
          data-testid="scan-input"
        />
        {!state.running && (
          <>
            <label htmlFor="operator" className="scan-label small">
              Operator
            </label>
            <input
              id="operator"
              className="operator-input"
              value={operator}
              onChange={(e) => setOperator(e.target.value)}
              placeholder="your name"
              data-testid="operator-input"
            />
          </>
        )}
        <button type="submit" className="button" disabled={busy} data-testid="scan-submit">
          {scanBack ? 'Check label' : state.running ? 'Pair label' : 'Start'}
        </button>
        {state.running && (
          <button
            type="button"
            className="button danger"
            onClick={() => void stop()}
            data-testid="stop-batch"
          >
            Stop batch
          </button>
        )}
        <button
          type="button"
          className={`button toggle ${sound ? 'on' : ''}`}
          aria-pressed={sound}
          onClick={toggleSound}
          data-testid="sound-toggle"
        >
          {sound ? '♪ Sound on' : '♪ Sound off'}
        </button>
      </form>
      {state.running && state.labels && (
        <div
          className={`labels-status${state.labels.problem ? ' problem' : ''}`}
          role={state.labels.problem ? 'alert' : 'status'}
          data-testid="labels-status"
        >
          <span>
            Labels → {state.labels.target}: {state.labels.printed} printed, {state.labels.pending} pending
            {state.labels.failed > 0 ? `, ${state.labels.failed} not printable` : ''}
          </span>
          {state.labels.problem && (
            <span data-testid="labels-problem">
              {state.labels.problem.title}. {state.labels.problem.remedy}
            </span>
          )}
          {state.labels.pending > 0 && (
            <button
              type="button"
              className="button"
              onClick={() => void printNow()}
              data-testid="labels-print-now"
            >
              Print now
            </button>
          )}
        </div>
      )}
      {message && (
        <p
          className={`scan-message ${message.kind}${message.loud ? ' loud' : ''}`}
          role={message.kind === 'error' ? 'alert' : 'status'}
          data-testid="scan-message"
        >
          {message.text}
          {message.remedy ? ` ${message.remedy}` : ''}
        </p>
      )}
      {state.notice && (
        <p className="scan-message error" role="alert">
          {state.notice}
        </p>
      )}
      {state.pendingLabels.length > 0 && (
        <p className="pending-labels" data-testid="pending-labels">
          Waiting for a PASS: {state.pendingLabels.join(', ')}
        </p>
      )}
      {state.running ? (
        <div className="station-body">
          <div className={`slot-grid slots-${state.slots.length}`} data-testid="slot-grid">
            {state.slots.map((s) => (
              <SlotCard key={s.slot} slot={s} />
            ))}
          </div>
          <EventLog lines={state.log} />
        </div>
      ) : (
        <>
          {state.log.length > 0 && <EventLog lines={state.log} />}
          {idle}
        </>
      )}
    </div>
  );
};
