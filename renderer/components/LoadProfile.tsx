import { type FormEvent, useState } from 'react';

/** Engineer-only: choose the profile the station provisions, by its path on this machine. */
export const LoadProfile = ({ onLoad }: { onLoad: (path: string) => Promise<void> }) => {
  const [path, setPath] = useState('');
  const [error, setError] = useState<string | undefined>();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    try {
      await onLoad(path.trim());
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  };
  return (
    <form className="card load" onSubmit={(e) => void submit(e)}>
      <label htmlFor="profile-path">Load a product profile</label>
      <div className="load-row">
        <input
          id="profile-path"
          value={path}
          onChange={(e) => setPath(e.target.value)}
          placeholder="/path/to/profile.json"
          data-testid="profile-path"
        />
        <button type="submit" className="button" disabled={!path.trim()}>
          Load
        </button>
      </div>
      {error && (
        <p className="remedy" role="alert">
          {error}
        </p>
      )}
    </form>
  );
};
