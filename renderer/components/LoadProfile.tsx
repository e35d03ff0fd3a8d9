import { PathForm } from './PathForm';

/** Engineer-only: choose the profile the station provisions, by its path on this machine. */
export const LoadProfile = ({ onLoad }: { onLoad: (path: string) => Promise<void> }) => (
  <PathForm
    id="profile-path"
    label="Load a product profile"
    placeholder="/path/to/profile.json"
    action="Load"
    onSubmit={onLoad}
  />
);
