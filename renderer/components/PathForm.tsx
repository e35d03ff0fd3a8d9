import { type FormEvent, type ReactNode, useState } from 'react';
import { errorText } from '../bridge';

/**
 * One labelled path field with its action button: the engineer screens ask for a file on this
 * machine in several places. A failed action shows its error (with the core's remedy) under it.
 */
export const PathForm = ({
  id,
  label,
  placeholder,
  action,
  errorTestId,
  onSubmit,
  children,
}: {
  id: string;
  label: string;
  placeholder: string;
  action: string;
  errorTestId?: string;
  onSubmit: (path: string) => Promise<void>;
  children?: ReactNode;
}) => {
  const [path, setPath] = useState('');
  const [error, setError] = useState<string | undefined>();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    try {
      await onSubmit(path.trim());
    } catch (err) {
      setError(errorText(err));
    }
  };
  return (
    <form className="card load" onSubmit={(e) => void submit(e)}>
      <label htmlFor={id}>{label}</label>
      <div className="load-row">
        <input
          id={id}
          value={path}
          onChange={(e) => setPath(e.target.value)}
          placeholder={placeholder}
          data-testid={id}
        />
        <button type="submit" className="button" disabled={!path.trim()}>
          {action}
        </button>
      </div>
      {error && (
        <p className="remedy" role="alert" data-testid={errorTestId}>
          {error}
        </p>
      )}
      {children}
    </form>
  );
};
