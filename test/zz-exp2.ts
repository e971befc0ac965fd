import { ProjectsClient } from '@google-cloud/resource-manager';
process.on('unhandledRejection', (r: any) => { console.log('UNHANDLED', r?.message); });
(async () => {
  const c2 = new ProjectsClient({ fallback: true } as any);
  try { await c2.getIamPolicy({ resource: 'projects/abc-123' }); } catch (e: any) { console.log('caught', e.constructor.name, e.code, e.message); }
  try { await c2.getIamPolicy({ resource: 'projects/abc-123' }); } catch (e: any) { console.log('caught2', e.constructor.name, e.code, e.message); }
})();
