import Joi from 'joi';
import type { ContentScript, MediaAsset, Project } from '../../db/models';
import type { ObjectStore } from '../../db/objects';
import { DEFAULT_MUSIC_VOLUME } from '../../activities/media-keys';
import { SCRIPT_LIMITS } from '../../providers/script/validate';
import { HttpError } from '../errors';
import { checkUpload } from './uploads';

/**
 * A content's own media (`media` of PATCH /contents/:id): the creator's uploads, each a picture or
 * a clip for one spoken scene (`scene`: its place among the script's scenes — the hook, each body
 * section, the call to action, empty parts left out — from 0), or one audio upload without a scene,
 * the music track under the voice at `volume` (0–1, default 0.25). They are stored as the content's
 * `media_assets` with source 'user' and their `key`; the production fills those scenes with them
 * and lays the music under the voice.
 */
export interface MediaInput {
  key: string;
  scene?: number;
  volume?: number;
}

/** The most spoken scenes a script has: the hook, its body sections, the call to action. */
export const MAX_SCENES = SCRIPT_LIMITS.maxSections + 2;

export const mediaSchema = Joi.array()
  .items(
    Joi.object<MediaInput>({
      key: Joi.string().max(400).required(),
      scene: Joi.number().integer().min(0).max(MAX_SCENES - 1),
      volume: Joi.number().min(0).max(1).when('scene', { is: Joi.exist(), then: Joi.forbidden() }),
    }),
  )
  .max(MAX_SCENES + 1)
  .unique((a: MediaInput, b: MediaInput) => a.scene !== undefined && a.scene === b.scene)
  .messages({ 'array.unique': '{{#label}} names a scene twice' })
  .allow(null);

/** How many spoken scenes the script has, when it is written (else undefined: the writer decides). */
function sceneCountOf(script: ContentScript): number | undefined {
  const count = [script.hook, ...script.body, script.cta].filter((part) => part.trim() !== '').length;
  return count > 0 ? count : undefined;
}

function invalid(field: string, message: string): HttpError {
  return new HttpError(400, 'validation_failed', 'the request is invalid', { [field]: message });
}

/**
 * The `media_assets` a content gets for `media` (null or empty: none), each upload checked
 * (uploads.ts `checkUpload`): pictures and clips in scene order, then the music track. A 400 names
 * the failing item's field.
 */
export async function userMediaAssets(
  objects: ObjectStore,
  project: Pick<Project, 'id' | 'organization_id' | 'user_id'>,
  script: ContentScript,
  media: MediaInput[] | null,
): Promise<MediaAsset[]> {
  const scenes = sceneCountOf(script);
  const assets: MediaAsset[] = [];
  for (const [i, item] of (media ?? []).entries()) {
    const field = `body.media.${i}`;
    if (item.scene !== undefined && scenes !== undefined && item.scene >= scenes) {
      throw invalid(`${field}.scene`, `the script has ${scenes} scenes (0–${scenes - 1})`);
    }
    const kind = await checkUpload(objects, project, item.key, item.scene === undefined ? ['audio'] : ['image', 'video'], `${field}.key`);
    const base = { type: kind, url: objects.urlFor(item.key), source: 'user' as const, timestamp: 0, duration: 0, key: item.key };
    assets.push(item.scene === undefined ? { ...base, volume: item.volume ?? DEFAULT_MUSIC_VOLUME } : { ...base, scene: item.scene });
  }
  if (assets.filter((asset) => asset.type === 'audio').length > 1) throw invalid('body.media', 'names more than one music track (audio without a scene)');
  return assets.sort((a, b) => (a.scene ?? MAX_SCENES) - (b.scene ?? MAX_SCENES));
}
