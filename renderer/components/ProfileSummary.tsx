import type { ProfileView } from '../../core/contract/index';

const MODE: Record<string, string> = { 'flash-on-line': 'Flash on the line', 'ota-on-setup': 'OTA on setup' };

const AUTH: Record<string, string> = {
  simple: 'Simple',
  'two-legged': 'Two-legged',
  'login-with-particle': 'Login with Particle',
};

const yesNo = (v: boolean | undefined): string => (v === undefined ? 'not answered' : v ? 'Yes' : 'No');

const Row = ({ label, value, testId }: { label: string; value: string; testId: string }) => (
  <>
    <dt>{label}</dt>
    <dd data-testid={testId}>{value}</dd>
  </>
);

export const ProfileSummary = ({ profile }: { profile: ProfileView }) => {
  const registration = !profile.registration
    ? 'not answered'
    : profile.registration.mode === 'offline'
      ? 'Offline (queued)'
      : `Cloud: ${profile.registration.apiBaseUrl}`;
  return (
    <section className="card" aria-labelledby="profile-title">
      <h2 id="profile-title" data-testid="product-name">
        {profile.product.name}
      </h2>
      <dl className="facts">
        <Row label="Product ID" value={String(profile.product.id)} testId="product-id" />
        {profile.organization && (
          <Row label="Organization" value={profile.organization} testId="organization" />
        )}
        <Row
          label="Platform"
          value={
            profile.platform.displayName
              ? `${profile.platform.displayName} (${profile.platform.id})`
              : profile.platform.name
          }
          testId="platform"
        />
        <Row
          label="Programming"
          value={
            profile.provisioningMode
              ? (MODE[profile.provisioningMode] ?? profile.provisioningMode)
              : 'not answered'
          }
          testId="mode"
        />
        <Row label="Registration" value={registration} testId="registration" />
        <Row label="Customer auth" value={AUTH[profile.customerAuth ?? ''] ?? 'not answered'} testId="auth" />
        <Row label="Private beta" value={yesNo(profile.privateBeta)} testId="private-beta" />
        <Row label="Development devices" value={yesNo(profile.development)} testId="development" />
        <Row
          label="Groups"
          value={profile.groups.length ? profile.groups.join(', ') : 'none'}
          testId="groups"
        />
        <Row label="Readback verify" value={profile.readback ? 'On' : 'OFF'} testId="readback" />
        <Row label="Slots" value={String(profile.slotCount)} testId="slots" />
        <Row
          label="Lock"
          value={
            profile.tampered ? 'TAMPERED' : profile.locked ? `Locked ${profile.lockedAt ?? ''}` : 'Not locked'
          }
          testId="lock"
        />
      </dl>
      <p className="path" title={profile.path}>
        {profile.path}
      </p>
    </section>
  );
};
