import type { Request, Response } from 'express';
import Joi from 'joi';
import { WorkflowNotFoundError } from '@temporalio/client';
import { CONTENT_STEPS, LANGUAGES, NOT_PRODUCED_YET, stepRequestOf, type Content, type ContentScript, type ContentStep, type JsonObject, type Language, type MediaAsset, type Project, type StepRequest } from '../../db/models';
import { CAPTION_MODES, type CaptionMode } from '../../providers/captions';
import { finishedSpeech, startStep, stepSummary, stepView, type StepStart } from '../../control/steps';
import { STEP_CREDITS, stepWorkflowId } from '../../workflows/single-step';
import type { ApiDeps } from '../deps';
import { HttpError } from '../errors';
import { answeringConflicts, idempotencyKeyOf, requestFingerprint, type RecordedResponse } from '../idempotency';
import { requirePlanFeature } from '../limits';
import { cursorParam, encodeCursor, pageOf, type Cursor } from '../pagination';
import { route, schemas, type AnyRouteSpec } from '../registry';
import { notFound, requireInProject, requireProject } from '../tenancy';
import { contentFields, text } from './contents-common';
import { MAX_SCENES } from './contents-media';
import { checkUpload } from './uploads';

/**
 * Single steps as API calls: text to speech with word timings, captions from word timings, and a
 * render of a scene list, each run alone as a small workflow on a content row of the project marked
 * with its kind (`contents.step`), recorded, metered and charged as a production is (see
 * workflows/single-step.ts for the credits). The rows are not productions: `GET /contents` leaves
 * them out, `GET /projects/:projectId/steps` lists them, and generate and retry refuse them.
 */

/** A speech step speaks at most this many characters, in all its segments. */
const SPEECH_MAX_CHARS = 5000;
/** The longest segment or scene text (a script's body section). */
const SCENE_MAX_CHARS = 2000;
/** The most words a captions step takes, and the latest time one may end at (seconds). */
const CAPTION_MAX_WORDS = 5000;
const CAPTION_MAX_SEC = 3 * 3600;
/** The longest scene of a render over an uploaded voice (seconds). */
const SCENE_MAX_SEC = 3600;

interface SpeechBody {
  text?: string;
  segments?: string[];
  language?: Language;
  voice?: string;
}

interface WordInput {
  text: string;
  start: number;
  end: number;
}

interface CaptionsBody {
  speech_id?: string;
  words?: WordInput[];
  language?: Language;
  mode?: CaptionMode;
}

interface SceneInput {
  text: string;
  media_key?: string;
  duration?: number;
}

interface RenderBody {
  scenes: SceneInput[];
  speech_id?: string;
  audio_key?: string;
  title?: string;
}

interface ListQuery {
  kind?: ContentStep;
  limit: number;
  cursor?: Cursor;
}

const language = Joi.string().valid(...LANGUAGES);
const speechId = schemas.id.description('a completed speech step of this project');

const speechBody = Joi.object<SpeechBody>({
  text: text(SPEECH_MAX_CHARS).trim().min(1).description('spoken as one segment'),
  segments: Joi.array()
    .items(text(SCENE_MAX_CHARS).trim().min(1))
    .min(1)
    .max(MAX_SCENES)
    .custom((value: string[], helpers) => {
      const total = value.reduce((sum, segment) => sum + segment.length, 0);
      return total > SPEECH_MAX_CHARS ? helpers.message({ custom: `holds ${total} characters, more than the ${SPEECH_MAX_CHARS} a speech step speaks` }) : value;
    }, `at most ${SPEECH_MAX_CHARS} characters in all`)
    .description('spoken in order, each timed on its own (the scenes of a later render)'),
  language: language.description("the project's language unless given"),
  voice: text(100).trim().min(1).description("a voice of the speech engine over the project's (plans with custom_voices)"),
})
  .xor('text', 'segments')
  .required();

const captionsBody = Joi.object<CaptionsBody>({
  speech_id: speechId,
  words: Joi.array()
    .items(
      Joi.object<WordInput>({
        text: text(100).trim().min(1).required(),
        start: Joi.number().min(0).max(CAPTION_MAX_SEC).required(),
        end: Joi.number().greater(Joi.ref('start')).max(CAPTION_MAX_SEC).required(),
      }),
    )
    .min(1)
    .max(CAPTION_MAX_WORDS)
    .description('each word with its start and end in seconds, in speaking order'),
  language: language.description("the words' language (the project's unless given); a speech step's words are in its own"),
  mode: Joi.string().valid(...CAPTION_MODES).description("karaoke, popup or classic, over the project's template's"),
})
  .xor('speech_id', 'words')
  .without('speech_id', ['language'])
  .required();

const renderBody = Joi.object<RenderBody>({
  scenes: Joi.array()
    .items(
      Joi.object<SceneInput>({
        text: text(SCENE_MAX_CHARS).trim().min(1).required().description("the scene's words: its card's headline, or its stock search"),
        media_key: Joi.string().max(400).description('a picture or clip uploaded to this project (POST /projects/:projectId/uploads)'),
        duration: Joi.number().greater(0).max(SCENE_MAX_SEC).description('seconds, with audio_key: every scene but the last, which lasts until the voice ends'),
      }),
    )
    .min(1)
    .max(MAX_SCENES)
    .required(),
  speech_id: speechId.description('a completed speech step of this project with one segment per scene: its voice, scene timings and captions'),
  audio_key: Joi.string().max(400).description('an audio upload of this project as the voice (no captions)'),
  title: contentFields.title.description("shown as the template's intro before the voice"),
})
  .xor('speech_id', 'audio_key')
  .required();

const listQuery = Joi.object<ListQuery>({
  kind: Joi.string().valid(...CONTENT_STEPS),
  limit: schemas.limit,
  cursor: cursorParam,
});

function invalid(field: string, message: string): HttpError {
  return new HttpError(400, 'validation_failed', 'the request is invalid', { [field]: message });
}

/** A step's texts as its row's script: one body section each, kept as given (no writer runs on a step). */
function stepScript(texts: string[]): ContentScript {
  return { hook: '', body: texts, cta: '', full_text: texts.join('\n'), source: 'creator' };
}

/** What a step's row and workflow start with. */
interface PreparedStep {
  script: ContentScript;
  request: StepRequest;
  start: StepStart;
  title?: string;
  mediaAssets?: MediaAsset[];
}

export function stepRoutes({ ctx }: ApiDeps): AnyRouteSpec[] {
  const { models, db, temporal } = ctx;

  /** The speech step a captions step or a render uses: a 400 naming `field` unless it is a completed one of the project. */
  async function speechFor(project: Project, id: string, field: string) {
    const found = await finishedSpeech(ctx, id, project.id);
    if (!found) throw invalid(field, 'is not a completed speech step of this project');
    return found;
  }

  /** The row of a step the caller may act on with `need`; 404 for another tenant's, a production's or none. */
  async function loadStep(req: Request, id: string, need: 'viewer' | 'editor'): Promise<Content & { step: ContentStep }> {
    const { row } = await requireInProject(models, models.Content, 'step', req.auth!.userId, id, need);
    if (row.step === null) throw notFound('step');
    return row as Content & { step: ContentStep };
  }

  /**
   * Creates a step's row (running) and starts its workflow; a start Temporal refuses leaves no row.
   * An Idempotency-Key replays the first answer to the same request instead of running it again.
   */
  async function createStep(req: Request, res: Response, projectId: string, kind: ContentStep, body: unknown, prepare: (project: Project) => Promise<PreparedStep>): Promise<void> {
    const userId = req.auth!.userId;
    const key = idempotencyKeyOf(req);
    const { project } = await requireProject(models, userId, projectId, 'editor');
    if (project.status !== 'active') {
      throw new HttpError(409, 'project_paused', `the project is ${project.status}: set it active again to run steps in it`, { project_status: project.status });
    }
    const run = async (): Promise<RecordedResponse> => {
      const prepared = await prepare(project);
      const content = await models.Content.create({
        project_id: project.id,
        title: prepared.title ?? '',
        description: null,
        tags: null,
        script: prepared.script,
        media_assets: prepared.mediaAssets ?? [],
        source_type: 'api',
        source_url: null,
        source_data: prepared.request as unknown as JsonObject,
        step: kind,
        ...NOT_PRODUCED_YET,
        status: 'processing',
      });
      try {
        await startStep(ctx, content, project, prepared.start);
      } catch (err) {
        await content.destroy();
        throw err;
      }
      return { status: 202, body: { step: await stepView(ctx, content as Content & { step: ContentStep }) } };
    };
    const outcome = key ? await answeringConflicts(() => db.idempotency.run(`user:${userId}`, key, requestFingerprint(`step:${kind}`, project.id, body), run)) : { ...(await run()), replayed: false };
    if (outcome.replayed) res.setHeader('Idempotent-Replayed', 'true');
    const stepId = (outcome.body as { step: { id: string } }).step.id;
    res.status(outcome.status).location(`/steps/${stepId}`).json(outcome.body);
  }

  const projectParams = Joi.object({ projectId: Joi.string().guid().required() });
  const credits = (kind: ContentStep) => (STEP_CREDITS[kind] === 0 ? 'costs no credit' : `costs ${STEP_CREDITS[kind]} credit, given back if it fails or is cancelled`);

  /** The route that starts a step of `kind` in a project (editor or higher), its row and workflow prepared from the body by `prepare`. */
  function startRoute<B>(kind: ContentStep, summary: string, body: Joi.Schema<B>, prepare: (project: Project, input: B) => Promise<PreparedStep>, responses: Record<number, string> = {}) {
    return route<{ projectId: string }, Record<string, never>, B>({
      method: 'post',
      path: `/projects/:projectId/steps/${kind}`,
      summary: `${summary}. An Idempotency-Key replays the first answer`,
      tag: 'steps',
      auth: 'user',
      params: projectParams,
      body,
      responses: { 202: 'the step started: { step } (Location: /steps/:id)', 409: 'project_paused: the project is paused or archived', ...responses },
      handler: (req, res, { params, body: input }) => createStep(req, res, params.projectId, kind, input, (project) => prepare(project, input)),
    });
  }

  return [
    startRoute(
      'speech',
      `Text to speech alone (editor or higher; ${credits('speech')}): \`text\` (one segment) or \`segments\`, in the project's language ` +
        "or `language`, with the project's voice or `voice`. GET /steps/:id then gives the audio (AAC, a link valid an hour), each segment's " +
        'start and end, and each word with its start and end in seconds',
      speechBody,
      async (project, body) => {
        if (body.voice) await requirePlanFeature(ctx, project, 'custom_voices', 'body.voice');
        const segments = body.segments ?? [body.text!];
        return {
          script: stepScript(segments),
          request: { language: body.language ?? project.mediaLanguage(), ...(body.voice ? { voice: body.voice } : {}) },
          start: { step: 'speech' },
        };
      },
      { 403: 'plan_feature: a voice on a plan without custom_voices' },
    ),
    startRoute(
      'captions',
      `Captions from word timings alone (editor or higher; ${credits('captions')}, no provider is called): the words of a completed speech ` +
        "step (`speech_id`) or `words` [{ text, start, end }], grouped in the project's template's caption style (karaoke, popup or classic, or " +
        "`mode`) into SubRip, WebVTT and an ASS document for the template's frame; GET /steps/:id gives their links",
      captionsBody,
      async (project, body) => {
        const mode = body.mode ? { mode: body.mode } : {};
        if (body.speech_id) {
          const { content, speech } = await speechFor(project, body.speech_id, 'body.speech_id');
          return { script: stepScript([]), request: { language: stepRequestOf(content)?.language ?? project.mediaLanguage(), speech_id: content.id, ...mode }, start: { step: 'captions', speech } };
        }
        const words = body.words!;
        const early = words.findIndex((word, i) => i > 0 && word.start < words[i - 1]!.start);
        if (early >= 0) throw invalid(`body.words.${early}.start`, 'starts before the word before it: give the words in speaking order');
        return { script: stepScript([]), request: { language: body.language ?? project.mediaLanguage(), words, ...mode }, start: { step: 'captions' } };
      },
    ),
    startRoute(
      'render',
      `A render of a scene list alone (editor or higher; ${credits('render')}): each scene's \`text\` and its own picture or clip ` +
        '(`media_key`, an upload of the project) or, without one, a picture from the images provider (a scene card by default), over the voice ' +
        'of a completed speech step (`speech_id`: one segment per scene, which times the scenes and gives the captions) or an audio upload ' +
        "(`audio_key`: every scene but the last with its `duration`; no captions), in the project's template (with `title` as its intro). " +
        'GET /steps/:id then gives the MP4, its thumbnail and its captions as WebVTT',
      renderBody,
      async (project, body) => {
        const { scenes } = body;
        const last = scenes.length - 1;
        let start: StepStart;
        let request: StepRequest;
        if (body.speech_id) {
          const { content, speech, segments } = await speechFor(project, body.speech_id, 'body.speech_id');
          if (segments !== scenes.length) throw invalid('body.scenes', `the speech has ${segments} segments: give one scene for each`);
          const timed = scenes.findIndex((scene) => scene.duration !== undefined);
          if (timed >= 0) throw invalid(`body.scenes.${timed}.duration`, 'the speech times the scenes: leave duration out');
          start = { step: 'render', speech };
          request = { language: stepRequestOf(content)?.language ?? project.mediaLanguage(), speech_id: content.id };
        } else {
          const untimed = scenes.findIndex((scene, i) => i < last && scene.duration === undefined);
          if (untimed >= 0) throw invalid(`body.scenes.${untimed}.duration`, 'is required with audio_key: every scene but the last, which lasts until the voice ends');
          if (scenes[last]!.duration !== undefined) throw invalid(`body.scenes.${last}.duration`, 'the last scene lasts until the voice ends: leave duration out');
          const audioKey = body.audio_key!;
          await checkUpload(db.objects, project, audioKey, ['audio'], 'body.audio_key');
          start = { step: 'render', audioKey };
          request = { language: project.mediaLanguage(), audio_key: audioKey, scene_durations: scenes.slice(0, last).map((scene) => scene.duration!) };
        }
        const mediaAssets: MediaAsset[] = [];
        for (const [i, scene] of scenes.entries()) {
          if (scene.media_key === undefined) continue;
          const kind = await checkUpload(db.objects, project, scene.media_key, ['image', 'video'], `body.scenes.${i}.media_key`);
          mediaAssets.push({ type: kind, url: db.objects.urlFor(scene.media_key), source: 'user', timestamp: 0, duration: 0, key: scene.media_key, scene: i });
        }
        return { script: stepScript(scenes.map((scene) => scene.text)), request, start, mediaAssets, ...(body.title ? { title: body.title } : {}) };
      },
    ),
    route<{ projectId: string }, ListQuery>({
      method: 'get',
      path: '/projects/:projectId/steps',
      summary: "The project's single steps, newest first, of one `kind` or all: each with its status and credits (GET /steps/:id gives its outputs)",
      tag: 'steps',
      auth: 'user',
      params: projectParams,
      query: listQuery,
      responses: { 200: '{ items, next_cursor }' },
      handler: async (req, res, { params, query }) => {
        const userId = req.auth!.userId;
        await requireProject(models, userId, params.projectId, 'viewer');
        const rows = await db.contents.listVisible(userId, { projectId: params.projectId, steps: true, step: query.kind, cursor: query.cursor }, query.limit + 1);
        const { page, nextCursor } = pageOf(rows, query.limit, (row) => encodeCursor(row.cursorAt, row.content.id));
        res.json({ items: page.map((row) => stepSummary(row.content as Content & { step: ContentStep })), next_cursor: nextCursor });
      },
    }),
    route({
      method: 'get',
      path: '/steps/:id',
      summary:
        'A single step: its kind, status (running, completed, failed or cancelled), credits, request and error; once completed its outputs as ' +
        'links valid an hour (speech: the audio, segments and word timings; captions: SubRip, WebVTT, ASS; render: the MP4, thumbnail and WebVTT). ' +
        'Its jobs and usage are those of a content: GET /contents/:id/jobs and /contents/:id/usage',
      tag: 'steps',
      auth: 'user',
      params: schemas.idParams,
      responses: { 200: '{ step }' },
      handler: async (req, res, { params }) => {
        res.json({ step: await stepView(ctx, await loadStep(req, params.id, 'viewer')) });
      },
    }),
    route({
      method: 'post',
      path: '/steps/:id/cancel',
      summary: 'Cancel a running step (editor or higher): its workflow stops its work and gives back its credit once',
      tag: 'steps',
      auth: 'user',
      params: schemas.idParams,
      responses: { 202: 'cancellation requested', 409: 'not_running: the step has ended' },
      handler: async (req, res, { params }) => {
        const content = await loadStep(req, params.id, 'editor');
        const notRunning = () => new HttpError(409, 'not_running', 'this step is not running');
        if (content.status !== 'processing') throw notRunning();
        try {
          await temporal.workflow.getHandle(stepWorkflowId(content.id)).cancel();
        } catch (err) {
          if (err instanceof WorkflowNotFoundError) throw notRunning();
          throw err;
        }
        res.status(202).json({ workflow_id: stepWorkflowId(content.id), cancel_requested: true });
      },
    }),
  ];
}
