import type { ContentActivities } from '../activities/content';
import type { MediaActivities } from '../activities/media';
import type { PublishActivities } from '../activities/publish';

/**
 * The one declaration of a production's steps and of the jobs (a production's, and the captions
 * job only a single step runs, workflows/single-step.ts). The workflow reports the steps, the
 * recording interceptor opens a `content_jobs` row for each job activity, the cost guard prices the
 * costed ones, and the API's progress view counts the pipeline jobs: all read it from here, so
 * renaming an activity is a type error here instead of a job that silently stops being recorded.
 * Workflow-safe: constants and types only.
 */

/** The steps of a production, in order; the query and the PipelineStep search attribute report them. */
export const PRODUCTION_STEPS = [
  'queued', 'charging', 'script', 'safety', 'media', 'render', 'awaiting_approval', 'publishing',
  'ready', 'published', 'rejected', 'failed', 'cancelled',
] as const;
export type ProductionStep = (typeof PRODUCTION_STEPS)[number];

export const STEP_PERCENT: Readonly<Record<ProductionStep, number>> = {
  queued: 0, charging: 2, script: 10, safety: 20, media: 35, render: 60, awaiting_approval: 95, publishing: 97,
  ready: 100, published: 100, rejected: 100, failed: 100, cancelled: 100,
};

type JobActivity = keyof ContentActivities | keyof MediaActivities | keyof PublishActivities;

interface JobDeclaration {
  activity: JobActivity;
  /** `content_jobs.job_type`. */
  jobType: string;
  /** The production step the job runs in; absent for a job that only a single step runs. */
  step?: ProductionStep;
  /** Counted in a production's percentage from its rows (the upload is per channel, after it). */
  pipeline: boolean;
  /** The paid step the content's cost cap prices before the job calls a provider, if it may pay one. */
  cost?: string;
}

export const JOBS = [
  { activity: 'writeScript', jobType: 'script_generation', step: 'script', pipeline: true, cost: 'script' },
  { activity: 'checkSafety', jobType: 'safety_check', step: 'safety', pipeline: true, cost: 'safety' },
  { activity: 'synthesizeSpeech', jobType: 'tts', step: 'media', pipeline: true, cost: 'speech' },
  { activity: 'createSceneImages', jobType: 'image_gen', step: 'media', pipeline: true, cost: 'images' },
  { activity: 'renderVideo', jobType: 'render', step: 'render', pipeline: true, cost: 'render' },
  { activity: 'uploadToChannel', jobType: 'upload', step: 'publishing', pipeline: false },
  { activity: 'writeCaptions', jobType: 'captions', pipeline: false },
] as const satisfies readonly JobDeclaration[];

export type JobType = (typeof JOBS)[number]['jobType'];
export const JOB_TYPES = JOBS.map((job) => job.jobType);

/** The job an activity records into, if it is one. */
export function jobTypeOfActivity(activityType: string): JobType | undefined {
  return JOBS.find((job) => job.activity === activityType)?.jobType;
}

/** The jobs that make the video, in order: a production's percentage from its rows counts these. */
export const PIPELINE_JOB_TYPES: readonly JobType[] = JOBS.filter((job) => job.pipeline).map((job) => job.jobType);

/** The paid steps a content's cost cap guards, priced from the configuration before each call. */
export type CostedStep = Extract<(typeof JOBS)[number], { cost: string }>['cost'];
