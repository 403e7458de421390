import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import type { CaptionsOutput, RenderOutput, SpeechManifest, SpeechOutput } from '../activities/media';
import type { Content, ContentJob, ContentStep, JobType, Project } from '../db/models';
import { captionsStep } from '../workflows/captions-step';
import { renderStep } from '../workflows/render-step';
import { STEP_CREDITS, stepWorkflowId, type StepInput } from '../workflows/single-step';
import { speechStep } from '../workflows/speech-step';
import type { AppContext } from './app-context';
import { contentSearchAttributes, PRIORITY_RENDERING_KEY } from './productions';

/**
 * Single steps (speech, captions, a render of a scene list) as the API starts and shows them. A
 * step is a content row of its project marked with its kind (`contents.step`); its workflow is
 * `step-<id>`, and what it made is the output its job recorded (`content_jobs.result.output`).
 */

/** What a step's workflow takes beyond its row: the voice a captions step or a render uses. */
export type StepStart =
  | { step: 'speech' }
  | { step: 'captions'; speech?: SpeechOutput }
  | { step: 'render'; speech?: SpeechOutput; audioKey?: string };

/** The job whose output is what the step made. */
const OUTPUT_JOB: Readonly<Record<ContentStep, JobType>> = { speech: 'tts', captions: 'captions', render: 'render' };

/** How long the links to a step's files work. */
const OUTPUT_URL_TTL_SEC = 3600;

/**
 * Starts the workflow of a step's row, found in the Web UI by its content, project, organization
 * and owner; the owner's plan gives it the task priority it gives productions.
 */
export async function startStep(ctx: Pick<AppContext, 'config' | 'db' | 'temporal'>, content: Content, project: Project, start: StepStart): Promise<{ workflowId: string; runId: string }> {
  const { features } = await ctx.db.plans.featuresOf(project);
  const options = {
    taskQueue: ctx.config.temporal.taskQueue,
    workflowId: stepWorkflowId(content.id),
    workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
    typedSearchAttributes: new TypedSearchAttributes(contentSearchAttributes(content.id, project)),
    memo: { step: start.step, project: project.name },
    ...(features.priority_rendering ? { priority: { priorityKey: PRIORITY_RENDERING_KEY } } : {}),
  };
  const input: StepInput = { contentId: content.id, mediaTaskQueue: ctx.config.temporal.mediaTaskQueue };
  const { speech } = start.step === 'speech' ? {} : start;
  const handle =
    start.step === 'speech'
      ? await ctx.temporal.workflow.start(speechStep, { ...options, args: [input] })
      : start.step === 'captions'
        ? await ctx.temporal.workflow.start(captionsStep, { ...options, args: [{ ...input, ...(speech ? { speech } : {}) }] })
        : await ctx.temporal.workflow.start(renderStep, { ...options, args: [{ ...input, ...(speech ? { speech } : {}), ...(start.audioKey ? { audioKey: start.audioKey } : {}) }] });
  return { workflowId: handle.workflowId, runId: handle.firstExecutionRunId };
}

/** The newest completed job of `jobType` and the output it recorded. */
function outputOf<T>(jobs: readonly ContentJob[], jobType: JobType): T | undefined {
  const job = jobs.filter((j) => j.job_type === jobType && j.status === 'completed').at(-1);
  const result = job?.result;
  return result && typeof result === 'object' && !Array.isArray(result) && result.output && typeof result.output === 'object' ? (result.output as T) : undefined;
}

/** The speech output of a finished speech step of `project`, for a captions step or a render that uses it; undefined otherwise. */
export async function finishedSpeech(ctx: Pick<AppContext, 'db'>, stepId: string, projectId: string): Promise<{ content: Content; speech: SpeechOutput; segments: number } | undefined> {
  const content = await ctx.db.models.Content.findByPk(stepId);
  if (!content || content.project_id !== projectId || content.step !== 'speech' || content.status !== 'ready') return undefined;
  const speech = outputOf<SpeechOutput>(await ctx.db.jobs.forContent(content.id), OUTPUT_JOB.speech);
  const manifest = speech && (await readManifest(ctx, speech.manifestKey));
  return speech && manifest ? { content, speech, segments: manifest.segments.length } : undefined;
}

/** A speech's manifest (its segments and words), or undefined when it is no longer in the bucket. */
async function readManifest(ctx: Pick<AppContext, 'db'>, key: string): Promise<SpeechManifest | undefined> {
  try {
    return JSON.parse((await ctx.db.objects.getBuffer(key)).toString('utf8')) as SpeechManifest;
  } catch (err) {
    if (err instanceof Error && err.name === 'NoSuchKey') return undefined;
    throw err;
  }
}

export type StepStatus = 'running' | 'completed' | 'failed' | 'cancelled';

/** Where a step stands, from its row: running, then completed (`ready`), failed, or cancelled (`draft`, as a cancelled production). */
export function stepStatusOf(content: Pick<Content, 'status'>): StepStatus {
  switch (content.status) {
    case 'ready':
      return 'completed';
    case 'failed':
      return 'failed';
    case 'draft':
      return 'cancelled';
    default:
      return 'running';
  }
}

const round3 = (sec: number) => Math.round(sec * 1000) / 1000;

/** What a finished step made, as links (valid an hour) and figures. */
async function outputsOf(ctx: Pick<AppContext, 'db'>, content: Content, step: ContentStep) {
  const { objects } = ctx.db;
  const jobs = await ctx.db.jobs.forContent(content.id);
  const link = (key: string) => objects.presignedGetUrl(key, OUTPUT_URL_TTL_SEC);
  const expiresAt = new Date(Date.now() + OUTPUT_URL_TTL_SEC * 1000).toISOString();
  switch (step) {
    case 'speech': {
      const speech = outputOf<SpeechOutput>(jobs, OUTPUT_JOB.speech);
      if (!speech) return null;
      const manifest = await readManifest(ctx, speech.manifestKey);
      if (!manifest) return null;
      return {
        audio_url: await link(speech.audioKey),
        duration: round3(speech.durationSec),
        segments: manifest.segments.map((segment) => ({ start: round3(segment.startSec), end: round3(segment.endSec) })),
        words: (manifest.words ?? []).map((word) => ({ text: word.text, start: word.startSec, end: word.endSec, segment: word.segment })),
        urls_expire_at: expiresAt,
      };
    }
    case 'captions': {
      const captions = outputOf<CaptionsOutput>(jobs, OUTPUT_JOB.captions);
      if (!captions) return null;
      return { srt_url: await link(captions.srtKey), vtt_url: await link(captions.vttKey), ass_url: await link(captions.assKey), cues: captions.cues, urls_expire_at: expiresAt };
    }
    case 'render': {
      const video = outputOf<RenderOutput>(jobs, OUTPUT_JOB.render);
      if (!video) return null;
      return {
        video_url: await link(video.videoKey),
        thumbnail_url: await link(video.thumbnailKey),
        captions_url: video.captionsKey ? await link(video.captionsKey) : null,
        duration: round3(video.durationSec),
        resolution: content.video_resolution,
        urls_expire_at: expiresAt,
      };
    }
  }
}

/** A step as the API shows it: its kind, status, credits, request, why it failed, and once completed what it made. */
export async function stepView(ctx: Pick<AppContext, 'db'>, content: Content & { step: ContentStep }) {
  const status = stepStatusOf(content);
  return {
    ...stepSummary(content),
    error: status === 'failed' || status === 'cancelled' ? ((await ctx.db.jobs.runError(content.id)) ?? null) : null,
    request: content.source_data,
    outputs: status === 'completed' ? await outputsOf(ctx, content, content.step) : null,
  };
}

/** The fields of a step every answer shows (a list shows these only). */
export function stepSummary(content: Content & { step: ContentStep }) {
  const kind: ContentStep = content.step;
  return {
    id: content.id,
    project_id: content.project_id,
    kind,
    status: stepStatusOf(content),
    credits: STEP_CREDITS[kind],
    workflow_id: stepWorkflowId(content.id),
    created_at: content.created_at,
    updated_at: content.updated_at,
  };
}
