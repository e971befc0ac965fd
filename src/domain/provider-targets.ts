/**
 * The shape of a role's `target` for each cloud provider: checked when the policy is validated, so a
 * typo in an ARN or a basic GCP role is refused before anyone asks for it, and parsed again by the
 * adapter into the typed form it calls the cloud with. Pure: no SDK, no I/O.
 */

export interface AwsTarget {
  /** `arn:aws:sso:::instance/ssoins-…`: the Identity Center instance. */
  readonly instanceArn: string;
  /** `d-…`: the identity store where people are looked up by e-mail. */
  readonly identityStoreId: string;
  /** The 12-digit AWS account the permission set is assigned in. */
  readonly accountId: string;
  /** `arn:aws:sso:::permissionSet/ssoins-…/ps-…`: what the person gets in that account. */
  readonly permissionSetArn: string;
  /** The instance's home region; default the process's `AWS_REGION`. */
  readonly region?: string;
}

export interface GcpTarget {
  /** `projects/<id>`, `folders/<number>` or `organizations/<number>`. */
  readonly resource: string;
  readonly resourceKind: 'projects' | 'folders' | 'organizations';
  /** `roles/…` (predefined) or `projects/<id>/roles/…`, `organizations/<n>/roles/…` (custom). */
  readonly role: string;
}

export interface AzureTarget {
  /** `/subscriptions/<id>[/resourceGroups/<name>[/providers/…]]` or a management group. */
  readonly scope: string;
  /** The role definition's GUID (a built-in such as Reader, or a custom role). */
  readonly roleDefinitionGuid: string;
}

export type TargetParse<T> = { ok: true; value: T } | { ok: false; problems: readonly { key: string; message: string }[] };

const PARTITION = '(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b)';
const INSTANCE_ARN = new RegExp(`^arn:${PARTITION}:sso:::instance/((?:sso)?ins-[a-zA-Z0-9-.]{16})$`);
const PERMISSION_SET_ARN = new RegExp(`^arn:${PARTITION}:sso:::permissionSet/((?:sso)?ins-[a-zA-Z0-9-.]{16})/ps-[a-zA-Z0-9-./]{16}$`);
const IDENTITY_STORE_ID = /^(d-[0-9a-f]{10}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;
const ACCOUNT_ID = /^\d{12}$/;
const AWS_REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;

const GCP_RESOURCE = /^(projects)\/([a-z][a-z0-9-]{4,28}[a-z0-9])$|^(folders|organizations)\/([0-9]{1,20})$/;
const GCP_ROLE = /^(roles\/[a-zA-Z0-9_.]{1,100}|(projects\/[a-z][a-z0-9-]{4,28}[a-z0-9]|organizations\/[0-9]{1,20})\/roles\/[a-zA-Z0-9_.]{1,64})$/;
/** Google refuses IAM conditions on these, and they are far too broad for temporary access anyway. */
export const GCP_BASIC_ROLES: readonly string[] = ['roles/owner', 'roles/editor', 'roles/viewer'];

const GUID = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}';
const AZURE_NAME = "[A-Za-z0-9._()-]{1,90}";
const AZURE_SCOPE = new RegExp(
  `^/subscriptions/${GUID}(/resourceGroups/${AZURE_NAME}(/providers/[A-Za-z0-9.]+(/[A-Za-z0-9._()-]+){2,8})?)?$|^/providers/Microsoft\\.Management/managementGroups/${AZURE_NAME}$`,
);
const AZURE_ROLE_DEFINITION = new RegExp(`^(?:(?:/subscriptions/${GUID})?/providers/Microsoft\\.Authorization/roleDefinitions/)?(${GUID})$`);

/** Parses an `aws` role target; every problem names its key. */
export function parseAwsTarget(target: Readonly<Record<string, string>>): TargetParse<AwsTarget> {
  const problems = unknownKeys(target, ['instanceArn', 'identityStoreId', 'accountId', 'permissionSetArn', 'region']);
  const instance = check(target, 'instanceArn', INSTANCE_ARN, 'an Identity Center instance ARN like arn:aws:sso:::instance/ssoins-1234567890abcdef', problems);
  check(target, 'identityStoreId', IDENTITY_STORE_ID, 'an identity store id like d-1234567890', problems);
  check(target, 'accountId', ACCOUNT_ID, 'a 12-digit AWS account id', problems);
  const permissionSet = check(target, 'permissionSetArn', PERMISSION_SET_ARN, 'a permission set ARN like arn:aws:sso:::permissionSet/ssoins-1234567890abcdef/ps-1234567890abcdef', problems);
  if (target['region'] !== undefined) check(target, 'region', AWS_REGION, 'an AWS region like eu-central-1', problems);
  if (instance && permissionSet && (instance[1] !== permissionSet[1] || instance[2] !== permissionSet[2])) {
    problems.push({ key: 'permissionSetArn', message: 'belongs to another Identity Center instance than instanceArn' });
  }
  if (problems.length > 0) return { ok: false, problems };
  const { instanceArn, identityStoreId, accountId, permissionSetArn, region } = target as Record<string, string>;
  return { ok: true, value: { instanceArn: instanceArn!, identityStoreId: identityStoreId!, accountId: accountId!, permissionSetArn: permissionSetArn!, ...(region ? { region } : {}) } };
}

/** Parses a `gcp` role target; basic roles are refused (Google allows no condition on them). */
export function parseGcpTarget(target: Readonly<Record<string, string>>): TargetParse<GcpTarget> {
  const problems = unknownKeys(target, ['resource', 'role']);
  const resource = check(target, 'resource', GCP_RESOURCE, 'projects/<project id>, folders/<number> or organizations/<number>', problems);
  const role = target['role'];
  if (role !== undefined && GCP_BASIC_ROLES.includes(role)) {
    problems.push({ key: 'role', message: `${role} is a basic role: Google allows no IAM condition on it, so it cannot expire; use a predefined or custom role` });
  } else {
    check(target, 'role', GCP_ROLE, 'an IAM role like roles/cloudsql.viewer or projects/<id>/roles/<custom>', problems);
  }
  if (problems.length > 0 || !resource) return { ok: false, problems };
  const resourceKind = (resource[1] ?? resource[3]) as GcpTarget['resourceKind'];
  return { ok: true, value: { resource: target['resource']!, resourceKind, role: role! } };
}

/** Parses an `azure` role target; the role definition may be a GUID or a full role definition id. */
export function parseAzureTarget(target: Readonly<Record<string, string>>): TargetParse<AzureTarget> {
  const problems = unknownKeys(target, ['scope', 'roleDefinitionId']);
  check(target, 'scope', AZURE_SCOPE, 'a scope like /subscriptions/<id>/resourceGroups/<name> or /providers/Microsoft.Management/managementGroups/<id>', problems);
  const definition = check(target, 'roleDefinitionId', AZURE_ROLE_DEFINITION, 'a role definition GUID, or /providers/Microsoft.Authorization/roleDefinitions/<GUID>', problems);
  if (problems.length > 0 || !definition) return { ok: false, problems };
  return { ok: true, value: { scope: target['scope']!, roleDefinitionGuid: definition[1]!.toLowerCase() } };
}

const parsers: Readonly<Record<string, (target: Readonly<Record<string, string>>) => TargetParse<unknown>>> = {
  aws: parseAwsTarget,
  gcp: parseGcpTarget,
  azure: parseAzureTarget,
};

/** The problems of a role's target for its provider kind (none for kinds without target rules here). */
export function targetProblems(kind: string, target: Readonly<Record<string, string>>): readonly { key: string; message: string }[] {
  const parse = Object.hasOwn(parsers, kind) ? parsers[kind] : undefined;
  if (!parse) return [];
  const parsed = parse(target);
  return parsed.ok ? [] : parsed.problems;
}

function unknownKeys(target: Readonly<Record<string, string>>, known: readonly string[]): { key: string; message: string }[] {
  return Object.keys(target)
    .filter((key) => !known.includes(key))
    .map((key) => ({ key, message: `is not a target key of this provider (known: ${known.join(', ')})` }));
}

function check(target: Readonly<Record<string, string>>, key: string, pattern: RegExp, what: string, problems: { key: string; message: string }[]): RegExpExecArray | undefined {
  const value = target[key];
  if (value === undefined) {
    problems.push({ key, message: `is required: ${what}` });
    return undefined;
  }
  const match = pattern.exec(value);
  // NB: the value is not echoed: a policy error may reach a chat message.
  if (!match) problems.push({ key, message: `must be ${what}` });
  return match ?? undefined;
}
