import { azureSettingsFrom, DEFAULT_AZURE_LIMITS } from '../../../../src/adapters/iam/azure/azure-settings';

describe('azureSettingsFrom', () => {
  it('defaults to the public cloud and the documented limits', () => {
    expect(azureSettingsFrom({})).toEqual({
      ok: true,
      value: {
        endpoints: {
          resourceManager: 'https://management.azure.com',
          graph: 'https://graph.microsoft.com',
          authorityHost: 'https://login.microsoftonline.com',
          resourceManagerScope: 'https://management.azure.com/.default',
          graphScope: 'https://graph.microsoft.com/.default',
        },
        limits: DEFAULT_AZURE_LIMITS,
        disableInstanceDiscovery: false,
      },
    });
  });

  it('sets all three hosts from AZURE_CLOUD', () => {
    const china = azureSettingsFrom({ AZURE_CLOUD: 'AzureChinaCloud' });
    expect(china.ok && china.value.endpoints).toMatchObject({ resourceManager: 'https://management.chinacloudapi.cn', graph: 'https://microsoftgraph.chinacloudapi.cn', authorityHost: 'https://login.chinacloudapi.cn' });
    const gov = azureSettingsFrom({ AZURE_CLOUD: 'azureusgovernment' });
    expect(gov.ok && gov.value.endpoints).toMatchObject({ resourceManager: 'https://management.usgovcloudapi.net', graph: 'https://graph.microsoft.us', authorityHost: 'https://login.microsoftonline.us', graphScope: 'https://graph.microsoft.us/.default' });
  });

  it('lets each endpoint variable win over the shorthand, and an audience over the host', () => {
    const s = azureSettingsFrom({ AZURE_CLOUD: 'AzureChinaCloud', AZURE_RESOURCE_MANAGER_ENDPOINT: 'https://arm.internal.example/', AZURE_RESOURCE_MANAGER_AUDIENCE: 'https://management.chinacloudapi.cn' });
    expect(s.ok && s.value.endpoints).toMatchObject({ resourceManager: 'https://arm.internal.example', resourceManagerScope: 'https://management.chinacloudapi.cn/.default', graph: 'https://microsoftgraph.chinacloudapi.cn' });
  });

  it('takes positive integer limits and refuses anything else, naming the variable', () => {
    const s = azureSettingsFrom({ PROD_ACCESS_AZURE_CONCURRENCY: '8', PROD_ACCESS_AZURE_CALLS_PER_SECOND: '2' });
    expect(s.ok && s.value.limits).toEqual({ concurrency: 8, callsPerSecond: 2 });
    for (const bad of ['0', '-1', '1.5', 'ten', '1e3']) {
      expect(azureSettingsFrom({ PROD_ACCESS_AZURE_CALLS_PER_SECOND: bad })).toEqual({ ok: false, problems: ['PROD_ACCESS_AZURE_CALLS_PER_SECOND must be a positive integer'] });
    }
  });

  it('refuses plain http, odd URLs and unknown clouds', () => {
    expect(azureSettingsFrom({ AZURE_GRAPH_ENDPOINT: 'http://graph.example' })).toEqual({ ok: false, problems: ['AZURE_GRAPH_ENDPOINT must be an https:// URL'] });
    expect(azureSettingsFrom({ AZURE_AUTHORITY_HOST: 'not a url' })).toEqual({ ok: false, problems: ['AZURE_AUTHORITY_HOST must be an https:// URL'] });
    expect(azureSettingsFrom({ AZURE_RESOURCE_MANAGER_ENDPOINT: 'https://u:p@arm.example' })).toEqual({ ok: false, problems: ['AZURE_RESOURCE_MANAGER_ENDPOINT must be a plain base URL (no query, fragment or credentials)'] });
    expect(azureSettingsFrom({ PROD_ACCESS_AZURE_DISABLE_INSTANCE_DISCOVERY: 'yes' })).toEqual({ ok: false, problems: ['PROD_ACCESS_AZURE_DISABLE_INSTANCE_DISCOVERY must be true or false'] });
    expect(azureSettingsFrom({ AZURE_CLOUD: 'AzureGermanCloud' })).toEqual({ ok: false, problems: ['AZURE_CLOUD must be one of AzurePublicCloud, AzureChinaCloud, AzureUSGovernment'] });
  });
});
