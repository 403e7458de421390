import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ScheduleNotFoundError, type Client, type ScheduleDescription } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import { dataSourceScheduleId, reconcileDataSourceSchedules, type ReconcileSummary } from '../../control/data-source-schedules';
import { ingestDataSource } from '../../workflows/ingest-data-source';
import { DataSourceIdKey, OrganizationIdKey, ProjectIdKey } from '../../workflows/search-attributes';
import type { ApiHarness } from '../support/api';
import { closeChecked, createProjectApi } from '../support/project-api';
import type { Account, Actor } from '../support/tenants';
import { waitFor } from '../support/wait';

const RSS = { feed_url: 'https://news.example.com/feed.xml', filter_keywords: ['AI'] };

describe('data source schedules in Temporal', () => {
  let api: ApiHarness;
  let orgId: string;
  let as: Record<Actor, Account>;
  let projectId: string;

  before(async () => {
    ({ api, orgId, as, projectId } = await createProjectApi('Scheduled feeds'));
  });
  after(() => closeChecked(api));

  const describeSchedule = (sourceId: string): Promise<ScheduleDescription> => api.ctx.temporal.schedule.getHandle(dataSourceScheduleId(sourceId)).describe();
  const assertNoSchedule = async (sourceId: string): Promise<void> => {
    await assert.rejects(describeSchedule(sourceId), ScheduleNotFoundError);
  };

  it('creates, updates, pauses and deletes the schedule with the row', async () => {
    const created = await api.request('POST', `/projects/${projectId}/data-sources`, {
      token: as.admin.token,
      body: { name: 'Tech feed', source_type: 'rss', config: RSS, schedule_cron: '0 9 * * *' },
    });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.body.data_source.schedule, 'active');
    const id: string = created.body.data_source.id;

    let schedule = await describeSchedule(id);
    assert.equal(schedule.spec.timezone, 'Asia/Seoul');
    assert.equal(schedule.spec.calendars?.[0]?.hour?.[0]?.start, 9);
    assert.equal(schedule.state.paused, false);
    assert.equal(schedule.policies.overlap, 'SKIP');
    assert.equal(schedule.action.type, 'startWorkflow');
    assert.equal(schedule.action.type === 'startWorkflow' && schedule.action.workflowType, 'ingestDataSource');
    assert.deepEqual(schedule.action.type === 'startWorkflow' && schedule.action.args, [{ dataSourceId: id }]);
    assert.equal(schedule.typedSearchAttributes.get(DataSourceIdKey), id);
    assert.equal(schedule.typedSearchAttributes.get(ProjectIdKey), projectId);
    assert.equal(schedule.typedSearchAttributes.get(OrganizationIdKey), orgId);
    assert.equal(schedule.memo?.dataSource, 'Tech feed');
    const runAttributes = schedule.action.type === 'startWorkflow' ? schedule.action.typedSearchAttributes : undefined;
    assert.ok(runAttributes instanceof TypedSearchAttributes, 'each run carries search attributes');
    assert.equal(runAttributes.get(DataSourceIdKey), id, 'each run carries the data source');
    assert.equal(runAttributes.get(ProjectIdKey), projectId);

    const changed = await api.request('PATCH', `/data-sources/${id}`, { token: as.admin.token, body: { schedule_cron: '30 18 * * MON-FRI' } });
    assert.equal(changed.status, 200, changed.text);
    schedule = await describeSchedule(id);
    assert.equal(schedule.spec.calendars?.[0]?.hour?.[0]?.start, 18);
    assert.equal(schedule.spec.calendars?.[0]?.minute?.[0]?.start, 30);
    assert.deepEqual(schedule.spec.calendars?.[0]?.dayOfWeek?.[0], { start: 'MONDAY', end: 'FRIDAY', step: 1 });

    const paused = await api.request('PATCH', `/data-sources/${id}`, { token: as.admin.token, body: { is_active: false } });
    assert.equal(paused.body.data_source.schedule, 'paused');
    schedule = await describeSchedule(id);
    assert.equal(schedule.state.paused, true);
    assert.match(schedule.state.note ?? '', /paused/);

    const resumed = await api.request('PATCH', `/data-sources/${id}`, { token: as.admin.token, body: { is_active: true } });
    assert.equal(resumed.body.data_source.schedule, 'active');
    assert.equal((await describeSchedule(id)).state.paused, false);

    const unscheduled = await api.request('PATCH', `/data-sources/${id}`, { token: as.admin.token, body: { schedule_cron: null } });
    assert.equal(unscheduled.body.data_source.schedule, 'none');
    await assertNoSchedule(id);

    await api.request('PATCH', `/data-sources/${id}`, { token: as.admin.token, body: { schedule_cron: '0 7 * * *' } });
    assert.equal((await describeSchedule(id)).spec.calendars?.[0]?.hour?.[0]?.start, 7);

    const deleted = await api.request('DELETE', `/data-sources/${id}`, { token: as.admin.token });
    assert.equal(deleted.status, 204);
    await assertNoSchedule(id);
  });

  it('reads the cron in the time zone of the project', async () => {
    const project = await api.request('POST', '/projects', {
      token: as.owner.token,
      body: { name: 'New York desk', vertical: 'finance', organization_id: orgId, style_preset: { timezone: 'America/New_York' } },
    });
    assert.equal(project.status, 201, project.text);
    const created = await api.request('POST', `/projects/${project.body.project.id}/data-sources`, {
      token: as.admin.token,
      body: { name: 'Quotes', source_type: 'api', config: { api_type: 'yahoo_finance', symbols: ['AAPL'], data_type: 'daily_summary' }, schedule_cron: '0 17 * * 1-5' },
    });
    assert.equal(created.status, 201, created.text);
    assert.equal((await describeSchedule(created.body.data_source.id)).spec.timezone, 'America/New_York');

    const moved = await api.request('PATCH', `/projects/${project.body.project.id}`, { token: as.owner.token, body: { style_preset: { timezone: 'Europe/London', voice: 'en-gb' } } });
    assert.equal(moved.status, 200, moved.text);
    assert.equal((await describeSchedule(created.body.data_source.id)).spec.timezone, 'Europe/London', 'the schedule follows the project');

    const bad = await api.request('PATCH', `/projects/${project.body.project.id}`, { token: as.owner.token, body: { style_preset: { timezone: 'Mars/Olympus_Mons', voice: 'a voice; rm -rf' } } });
    assert.equal(bad.status, 400);
    assert.deepEqual(Object.keys(bad.body.error.details).sort(), ['body.style_preset.timezone', 'body.style_preset.voice']);
  });

  it('makes no schedule for a source without a cron, and runs any source now', async () => {
    const created = await api.request('POST', `/projects/${projectId}/data-sources`, { token: as.admin.token, body: { name: 'Manual feed', source_type: 'rss', config: RSS } });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.body.data_source.schedule, 'none');
    const id: string = created.body.data_source.id;
    await assertNoSchedule(id);

    assert.equal((await api.request('POST', `/data-sources/${id}/run`, { token: as.viewer.token })).status, 403);
    const run = await api.request('POST', `/data-sources/${id}/run`, { token: as.editor.token });
    assert.equal(run.status, 202, run.text);
    assert.match(run.body.workflow_id, new RegExp(`^ingest-${id}-manual-\\d+$`));
    const handle = api.ctx.temporal.workflow.getHandle(run.body.workflow_id);
    const described = await handle.describe();
    assert.equal(described.typedSearchAttributes.get(DataSourceIdKey), id);
    assert.equal(described.typedSearchAttributes.get(ProjectIdKey), projectId);
    await handle.terminate('no worker polls this test queue');

    await api.request('PATCH', `/data-sources/${id}`, { token: as.admin.token, body: { is_active: false } });
    const refused = await api.request('POST', `/data-sources/${id}/run`, { token: as.editor.token });
    assert.equal(refused.status, 409);
    assert.match(refused.body.error.message, /paused/);
  });

  it('pauses every schedule of a paused or archived project and resumes them when it is active again', async () => {
    const project = await api.request('POST', '/projects', { token: as.owner.token, body: { name: 'Pausable', vertical: 'tech', organization_id: orgId } });
    assert.equal(project.status, 201, project.text);
    const pid: string = project.body.project.id;
    const ids: string[] = [];
    for (const [name, is_active] of [['Live', true], ['Switched off', false]] as const) {
      const res = await api.request('POST', `/projects/${pid}/data-sources`, {
        token: as.admin.token,
        body: { name, source_type: 'rss', config: RSS, schedule_cron: '0 7 * * *', is_active },
      });
      assert.equal(res.status, 201, res.text);
      ids.push(res.body.data_source.id);
    }
    const [live, off] = ids as [string, string];
    assert.equal((await describeSchedule(live)).state.paused, false);

    for (const status of ['paused', 'archived'] as const) {
      const changed = await api.request('PATCH', `/projects/${pid}`, { token: as.editor.token, body: { status } });
      assert.equal(changed.status, 200, changed.text);
      const schedule = await describeSchedule(live);
      assert.equal(schedule.state.paused, true, `a ${status} project pauses its sources`);
      assert.match(schedule.state.note ?? '', new RegExp(`project ${status}`));
      assert.equal((await describeSchedule(off)).state.paused, true);
    }

    const resumed = await api.request('PATCH', `/projects/${pid}`, { token: as.editor.token, body: { status: 'active' } });
    assert.equal(resumed.status, 200, resumed.text);
    assert.equal((await describeSchedule(live)).state.paused, false, 'active again: the schedule resumes');
    assert.equal((await describeSchedule(off)).state.paused, true, 'a source switched off itself stays paused');
  });

  it('deletes the schedules of a deleted project', async () => {
    const project = await api.request('POST', '/projects', { token: as.owner.token, body: { name: 'Short-lived', vertical: 'tech', organization_id: orgId } });
    const ids: string[] = [];
    for (const name of ['One', 'Two']) {
      const res = await api.request('POST', `/projects/${project.body.project.id}/data-sources`, {
        token: as.admin.token,
        body: { name, source_type: 'rss', config: RSS, schedule_cron: '0 6 * * *' },
      });
      ids.push(res.body.data_source.id);
      await describeSchedule(res.body.data_source.id);
    }
    assert.equal((await api.request('DELETE', `/projects/${project.body.project.id}`, { token: as.owner.token })).status, 204);
    for (const id of ids) await assertNoSchedule(id);
  });
});

describe('data source schedules reconciled with the rows at worker start', () => {
  let api: ApiHarness;
  let as: Record<Actor, Account>;
  let orgId: string;
  let projectId: string;
  /** Schedules of "another deployment" (another task queue) this suite made; deleted at the end. */
  const foreignIds: string[] = [];

  before(async () => {
    ({ api, orgId, as, projectId } = await createProjectApi('Reconciled feeds'));
  });
  after(async () => {
    for (const id of foreignIds) await api.ctx.temporal.schedule.getHandle(id).delete().catch(() => undefined);
    await closeChecked(api);
  });

  const temporal = (): Client => api.ctx.temporal;
  const describeSchedule = (sourceId: string): Promise<ScheduleDescription> => temporal().schedule.getHandle(dataSourceScheduleId(sourceId)).describe();
  const assertNoSchedule = async (sourceId: string): Promise<void> => {
    await assert.rejects(describeSchedule(sourceId), ScheduleNotFoundError, `no schedule for ${sourceId}`);
  };
  const noChanges = (unchanged: number): ReconcileSummary => ({ created: 0, updated: 0, paused: 0, unpaused: 0, deleted: 0, unchanged, failed: 0 });

  async function createSource(project: string, name: string, extra: { is_active?: boolean } = {}): Promise<string> {
    const res = await api.request('POST', `/projects/${project}/data-sources`, {
      token: as.admin.token,
      body: { name, source_type: 'rss', config: RSS, schedule_cron: '0 9 * * *', ...extra },
    });
    assert.equal(res.status, 201, res.text);
    return res.body.data_source.id;
  }

  /** A `data-source-…` schedule with no row, as a crashed delete or a restored Temporal leaves behind. */
  async function createStraySchedule(taskQueue: string): Promise<string> {
    const id = randomUUID();
    await temporal().schedule.create({
      scheduleId: dataSourceScheduleId(id),
      spec: { cronExpressions: ['0 6 * * *'] },
      action: { type: 'startWorkflow', workflowType: ingestDataSource, workflowId: `ingest-${id}`, taskQueue, args: [{ dataSourceId: id }] },
    });
    return id;
  }

  /** Schedule listing goes through visibility, which lags: wait until the reconcile can see them. */
  async function waitUntilListed(sourceIds: string[]): Promise<void> {
    const wanted = new Set(sourceIds.map(dataSourceScheduleId));
    await waitFor('the schedules to be listed', async () => {
      const listed = new Set<string>();
      for await (const schedule of temporal().schedule.list()) listed.add(schedule.scheduleId);
      return [...wanted].every((id) => listed.has(id));
    });
  }

  it('re-creates lost schedules, deletes orphans, follows paused rows, changed crons and zones, and changes nothing the second time', async () => {
    const { models } = api.ctx;
    const inStep = await createSource(projectId, 'In step');
    const lost = await createSource(projectId, 'Lost in a Temporal rebuild');
    const pausedInSql = await createSource(projectId, 'Paused in SQL');
    const resumedInSql = await createSource(projectId, 'Resumed in SQL', { is_active: false });
    const recronned = await createSource(projectId, 'Cron changed in SQL');
    const unscheduled = await createSource(projectId, 'Cron removed in SQL');
    const deletedRow = await createSource(projectId, 'Row deleted in SQL');
    const project = await api.request('POST', '/projects', { token: as.owner.token, body: { name: 'Moved desk', vertical: 'tech', organization_id: orgId } });
    assert.equal(project.status, 201, project.text);
    const movedZone = await createSource(project.body.project.id, 'Project moved to London in SQL');

    // Behind the platform's back: Temporal loses a schedule, rows change without the API.
    await temporal().schedule.getHandle(dataSourceScheduleId(lost)).delete();
    await models.DataSource.update({ is_active: false }, { where: { id: pausedInSql } });
    await models.DataSource.update({ is_active: true }, { where: { id: resumedInSql } });
    await models.DataSource.update({ schedule_cron: '15 21 * * SUN' }, { where: { id: recronned } });
    await models.DataSource.update({ schedule_cron: null }, { where: { id: unscheduled } });
    await models.DataSource.destroy({ where: { id: deletedRow } });
    await models.Project.update({ style_preset: { timezone: 'Europe/London' } }, { where: { id: project.body.project.id } });
    const orphan = await createStraySchedule(api.ctx.config.temporal.taskQueue);
    const foreign = await createStraySchedule(`another-deployment-${randomUUID()}`);
    foreignIds.push(dataSourceScheduleId(foreign));
    await waitUntilListed([orphan, foreign, deletedRow]);
    assert.equal((await describeSchedule(pausedInSql)).state.paused, false, 'the schedule still runs');
    assert.equal((await describeSchedule(resumedInSql)).state.paused, true, 'the schedule is still paused');

    const summary = await reconcileDataSourceSchedules(api.ctx);
    assert.deepEqual(summary, { created: 1, updated: 2, paused: 1, unpaused: 1, deleted: 3, unchanged: 1, failed: 0 });

    const recreated = await describeSchedule(lost);
    assert.equal(recreated.state.paused, false);
    assert.equal(recreated.spec.timezone, 'Asia/Seoul');
    assert.equal(recreated.spec.calendars?.[0]?.hour?.[0]?.start, 9);
    assert.equal(recreated.action.type === 'startWorkflow' && recreated.action.taskQueue, api.ctx.config.temporal.taskQueue);
    assert.deepEqual(recreated.action.type === 'startWorkflow' && recreated.action.args, [{ dataSourceId: lost }]);
    assert.equal(recreated.typedSearchAttributes.get(DataSourceIdKey), lost);
    assert.equal(recreated.typedSearchAttributes.get(ProjectIdKey), projectId);
    assert.equal(recreated.memo?.dataSource, 'Lost in a Temporal rebuild');

    const paused = await describeSchedule(pausedInSql);
    assert.equal(paused.state.paused, true);
    assert.match(paused.state.note ?? '', /is_active = false/);
    assert.equal((await describeSchedule(resumedInSql)).state.paused, false);

    const recronnedSchedule = await describeSchedule(recronned);
    assert.equal(recronnedSchedule.spec.calendars?.[0]?.hour?.[0]?.start, 21);
    assert.equal(recronnedSchedule.spec.calendars?.[0]?.minute?.[0]?.start, 15);
    assert.deepEqual(recronnedSchedule.spec.calendars?.[0]?.dayOfWeek?.[0], { start: 'SUNDAY', end: 'SUNDAY', step: 1 });
    assert.equal((await describeSchedule(movedZone)).spec.timezone, 'Europe/London');
    assert.equal((await describeSchedule(inStep)).state.paused, false);

    await assertNoSchedule(unscheduled);
    await assertNoSchedule(deletedRow);
    await assertNoSchedule(orphan);
    const other = await describeSchedule(foreign);
    assert.notEqual(other.action.type === 'startWorkflow' && other.action.taskQueue, api.ctx.config.temporal.taskQueue);

    assert.deepEqual(await reconcileDataSourceSchedules(api.ctx), noChanges(6), 'in step: nothing to do');
    await describeSchedule(foreign);
  });

  it('lets workers that start at the same moment reconcile together', async () => {
    const lost = await createSource(projectId, 'Lost again');
    const pausedInSql = await createSource(projectId, 'Paused again');
    await temporal().schedule.getHandle(dataSourceScheduleId(lost)).delete();
    await api.ctx.models.DataSource.update({ is_active: false }, { where: { id: pausedInSql } });
    const orphan = await createStraySchedule(api.ctx.config.temporal.taskQueue);
    await waitUntilListed([orphan]);

    const runs = await Promise.all([reconcileDataSourceSchedules(api.ctx), reconcileDataSourceSchedules(api.ctx), reconcileDataSourceSchedules(api.ctx)]);
    for (const run of runs) assert.equal(run.failed, 0, JSON.stringify(run));
    const total = (key: keyof ReconcileSummary): number => runs.reduce((sum, run) => sum + run[key], 0);
    assert.ok(total('created') >= 1, 'the lost schedule was created by one of them');
    assert.ok(total('deleted') >= 1, 'the orphan was deleted by one of them');

    assert.equal((await describeSchedule(lost)).state.paused, false);
    assert.equal((await describeSchedule(pausedInSql)).state.paused, true);
    await assertNoSchedule(orphan);
    const settled = await reconcileDataSourceSchedules(api.ctx);
    assert.deepEqual({ ...settled, unchanged: 0 }, noChanges(0), 'in step afterwards');
  });
});
