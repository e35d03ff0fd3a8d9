import { useState } from 'react';

/**
 * Engineer-only: sign the profile off. The core refuses (and says why) until every other
 * checklist item passes, so the button does not try to second-guess it.
 */
export const LockProfile = ({ onLock }: { onLock: () => Promise<void> }) => {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const lock = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await onLock();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="card lock-card">
      <p>
        Locking pins every firmware file's hash and records the profile hash. After that, any change shows as
        tampering and the station refuses to flash.
      </p>
      <button
        type="button"
        className="button"
        disabled={busy}
        onClick={() => void lock()}
        data-testid="lock-profile"
      >
        Lock profile
      </button>
      {error && (
        <p className="remedy" role="alert" data-testid="lock-error">
          {error}
        </p>
      )}
    </section>
  );
};
