import { type FormEvent, useState } from 'react';
import type { LinestationBridge } from '../../core/contract/index';

/**
 * The lock in front of the engineer screens. First time: choose the PIN (twice). Afterwards:
 * type it. The core checks it (scrypt) and grants the rights; this form only collects digits.
 */
export const PinGate = ({
  bridge,
  pinSet,
  onUnlocked,
}: {
  bridge: LinestationBridge;
  pinSet: boolean;
  onUnlocked: () => void;
}) => {
  const [pin, setPin] = useState('');
  const [confirm, setConfirm] = useState('');
  const [error, setError] = useState<string | undefined>();

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    if (!pinSet && pin !== confirm) {
      setError('The two PINs differ. Type the same PIN twice.');
      return;
    }
    const r = await bridge.invoke(pinSet ? 'session.unlock' : 'session.setPin', { pin });
    setPin('');
    setConfirm('');
    if (r.ok) onUnlocked();
    else setError(`${r.error.message}${r.error.remedy ? ` ${r.error.remedy}` : ''}`);
  };

  return (
    <form className="card pin-gate" onSubmit={(e) => void submit(e)} data-testid="pin-gate">
      <h2>{pinSet ? 'Engineer mode is locked' : 'Set up the engineer PIN'}</h2>
      <p className="muted">
        {pinSet
          ? 'Profiles, firmware, cloud and station settings need the engineer PIN.'
          : 'No PIN is set on this station yet. Choose 4 to 12 digits; operators will need it to reach these screens.'}
      </p>
      <label htmlFor="pin">PIN</label>
      <input
        id="pin"
        type="password"
        inputMode="numeric"
        autoComplete="off"
        value={pin}
        onChange={(e) => setPin(e.target.value)}
        data-testid="pin-input"
      />
      {!pinSet && (
        <>
          <label htmlFor="pin-confirm">PIN again</label>
          <input
            id="pin-confirm"
            type="password"
            inputMode="numeric"
            autoComplete="off"
            value={confirm}
            onChange={(e) => setConfirm(e.target.value)}
            data-testid="pin-confirm"
          />
        </>
      )}
      <button type="submit" className="button" disabled={pin.length < 4} data-testid="pin-submit">
        {pinSet ? 'Unlock' : 'Set PIN'}
      </button>
      {error && (
        <p className="remedy" role="alert" data-testid="pin-error">
          {error}
        </p>
      )}
    </form>
  );
};
