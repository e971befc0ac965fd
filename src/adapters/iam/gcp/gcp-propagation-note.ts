/**
 * For the granted notice: Google applies a change to an allow policy "typically in 2 minutes, but
 * potentially 7 minutes or longer" (cloud.google.com/iam/docs/access-change-propagation), so a
 * person who is told "granted" and gets "permission denied" should wait rather than ask again.
 */
export const GCP_PROPAGATION_NOTE =
  'Google Cloud usually applies an IAM change within about 2 minutes, sometimes 7 or more: if you get "permission denied" right away, wait a little and try again. The access ends by itself at its expiry, even if prod-access is down.';

/** The same for an early revoke: Google may honour the removed binding for a few more minutes. */
export const GCP_REVOCATION_NOTE =
  'Google Cloud usually applies an IAM change within about 2 minutes, sometimes 7 or more, so the access may keep working briefly after the revoke; what was set up with it (service-account tokens or keys minted, open SSH sessions, signed URLs) is not undone by it.';
