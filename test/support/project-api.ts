import { createApiHarness, type ApiHarness } from './api';
import { createPeople, type Account, type Actor } from './tenants';

/**
 * The setup of API suites about one project: the people of `createPeople` on a plan, and one
 * project of their organization made by the owner through the API.
 */
export interface ProjectApi {
  api: ApiHarness;
  orgId: string;
  as: Record<Actor, Account>;
  projectId: string;
}

export async function createProjectApi(projectName: string, plan = 'business'): Promise<ProjectApi> {
  const api = await createApiHarness();
  const { orgId, as } = await createPeople(api, { plan });
  const res = await api.request('POST', '/projects', { token: as.owner.token, body: { name: projectName, vertical: 'tech', organization_id: orgId } });
  return { api, orgId, as, projectId: res.body.project.id };
}

/** Checks that no secret leaked into what the API answered or logged, and closes the harness even when the check fails. */
export async function closeChecked(api: ApiHarness): Promise<void> {
  try {
    api.assertNoLeaks();
  } finally {
    await api.close();
  }
}
