/** Every IAM provider kind this build can serve; a policy naming any other is refused. */
export const providerKinds = ['local', 'postgres', 'aws', 'gcp', 'azure'] as const;
export type ProviderKind = (typeof providerKinds)[number];
