import { randomUUID } from 'node:crypto';
import Joi from 'joi';
import type { Project } from '../../db/models';
import type { ObjectStore } from '../../db/objects';
import { projectUploadsPrefix } from '../../activities/media-keys';
import type { ApiDeps } from '../deps';
import { HttpError } from '../errors';
import { route, type AnyRouteSpec } from '../registry';
import { requireProject } from '../tenancy';

/**
 * The creator's own media: a picture, a clip or a music track uploaded straight to S3 with a
 * presigned PUT URL, under the project's uploads folder (activities/media-keys.ts). A content's
 * `media` and a project's `style_preset.music_key` then name the key; each use checks the object
 * (its place, that it exists, its type and size) with `checkUpload`.
 */
export type UploadKind = 'image' | 'video' | 'audio';

/** The accepted types of each kind, with the extension their keys get. */
const UPLOAD_TYPES: Readonly<Record<UploadKind, Readonly<Record<string, string>>>> = {
  image: { 'image/png': 'png', 'image/jpeg': 'jpg', 'image/webp': 'webp' },
  video: { 'video/mp4': 'mp4', 'video/quicktime': 'mov', 'video/webm': 'webm' },
  audio: { 'audio/mpeg': 'mp3', 'audio/mp4': 'm4a', 'audio/aac': 'aac', 'audio/wav': 'wav', 'audio/x-wav': 'wav' },
};

const MB = 1024 * 1024;

/** The largest upload of each kind, in bytes. */
export const UPLOAD_MAX_BYTES: Readonly<Record<UploadKind, number>> = { image: 20 * MB, video: 500 * MB, audio: 50 * MB };

/** How long an upload URL works. */
const UPLOAD_URL_TTL_SEC = 15 * 60;

const KINDS = Object.keys(UPLOAD_TYPES) as UploadKind[];
const KIND_OF_EXTENSION = new Map(KINDS.flatMap((kind) => Object.values(UPLOAD_TYPES[kind]).map((ext) => [ext, kind] as const)));

interface UploadBody {
  kind: UploadKind;
  content_type: string;
  size_bytes: number;
}

const uploadBody = Joi.object<UploadBody>({
  kind: Joi.string().valid(...KINDS).required(),
  content_type: Joi.string()
    .lowercase()
    .required()
    .when('kind', {
      switch: KINDS.map((kind) => ({ is: kind, then: Joi.valid(...Object.keys(UPLOAD_TYPES[kind])) })),
    }),
  size_bytes: Joi.number()
    .integer()
    .min(1)
    .required()
    .when('kind', { switch: KINDS.map((kind) => ({ is: kind, then: Joi.number().max(UPLOAD_MAX_BYTES[kind]) })) }),
}).required();

/** The body of an upload that can only be a picture (an organization's logo). */
export const pictureUploadBody = Joi.object<{ content_type: string; size_bytes: number }>({
  content_type: Joi.string().lowercase().valid(...Object.keys(UPLOAD_TYPES.image)).required(),
  size_bytes: Joi.number().integer().min(1).max(UPLOAD_MAX_BYTES.image).required(),
}).required();

const ownerOf = (project: Pick<Project, 'id' | 'organization_id' | 'user_id'>) => ({ organizationId: project.organization_id, userId: project.user_id, projectId: project.id });

function invalid(field: string, message: string): HttpError {
  return new HttpError(400, 'validation_failed', 'the request is invalid', { [field]: message });
}

/**
 * Checks that `key` names an upload of `project` of one of `kinds`, present in S3 with an accepted
 * type and size; a 400 naming `field` otherwise. Answers its kind.
 */
export function checkUpload(
  objects: ObjectStore,
  project: Pick<Project, 'id' | 'organization_id' | 'user_id'>,
  key: string,
  kinds: readonly UploadKind[],
  field: string,
): Promise<UploadKind> {
  return checkUploadIn(objects, { prefix: projectUploadsPrefix(ownerOf(project)), what: "an upload of this content's project", issuedBy: 'POST /projects/:projectId/uploads' }, key, kinds, field);
}

/**
 * Checks that `key` names an upload under `folder.prefix` (as `newUpload` names them) of one of
 * `kinds`, present in S3 with an accepted type and size; a 400 naming `field` otherwise. Answers its kind.
 */
export async function checkUploadIn(
  objects: ObjectStore,
  folder: { prefix: string; what: string; issuedBy: string },
  key: string,
  kinds: readonly UploadKind[],
  field: string,
): Promise<UploadKind> {
  const name = key.startsWith(folder.prefix) ? key.slice(folder.prefix.length) : '';
  const match = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.([a-z0-9]+)$/.exec(name);
  const kind = match ? KIND_OF_EXTENSION.get(match[1]!) : undefined;
  if (!kind) throw invalid(field, `is not ${folder.what} (${folder.issuedBy} answers one)`);
  if (!kinds.includes(kind)) throw invalid(field, `is ${kind === 'audio' ? 'an audio' : `a ${kind}`} upload; this place takes ${kinds.join(' or ')}`);
  const object = await objects.head(key);
  if (!object) throw invalid(field, 'names no uploaded file: PUT the file to its upload_url first');
  const type = object.contentType?.toLowerCase() ?? '';
  if (!(type in UPLOAD_TYPES[kind])) throw invalid(field, `holds ${type || 'a file of no type'}, not one of ${Object.keys(UPLOAD_TYPES[kind]).join(', ')}`);
  if (object.sizeBytes > UPLOAD_MAX_BYTES[kind]) throw invalid(field, `holds ${object.sizeBytes} bytes, more than the ${UPLOAD_MAX_BYTES[kind]} a ${kind} may have`);
  return kind;
}

/** A new upload of `kind` under `prefix`: its key and a presigned PUT URL valid 15 minutes. */
export async function newUpload(objects: ObjectStore, prefix: string, kind: UploadKind, contentType: string) {
  const key = `${prefix}${randomUUID()}.${UPLOAD_TYPES[kind][contentType]}`;
  const expiresAt = new Date(Date.now() + UPLOAD_URL_TTL_SEC * 1000);
  const uploadUrl = await objects.presignedPutUrl(key, contentType, UPLOAD_URL_TTL_SEC);
  return { key, upload_url: uploadUrl, expires_at: expiresAt.toISOString(), content_type: contentType };
}

export function uploadRoutes({ ctx }: ApiDeps): AnyRouteSpec[] {
  const { models, db } = ctx;
  return [
    route<{ projectId: string }, Record<string, never>, UploadBody>({
      method: 'post',
      path: '/projects/:projectId/uploads',
      summary:
        "Start an upload of the creator's own picture (image/png, image/jpeg, image/webp; up to 20 MiB), clip (video/mp4, video/quicktime, " +
        'video/webm; up to 500 MiB) or music track (audio/mpeg, audio/mp4, audio/aac, audio/wav; up to 50 MiB) (editor or higher): answers the ' +
        "object's key and a presigned PUT URL valid 15 minutes, to be sent the file with its Content-Type. A content's `media` or the " +
        "project's `style_preset.music_key` then names the key",
      tag: 'projects',
      auth: 'user',
      params: Joi.object({ projectId: Joi.string().guid().required() }),
      body: uploadBody,
      responses: { 201: '{ key, upload_url, expires_at, content_type }' },
      handler: async (req, res, { params, body }) => {
        const { project } = await requireProject(models, req.auth!.userId, params.projectId, 'editor');
        res.status(201).json(await newUpload(db.objects, projectUploadsPrefix(ownerOf(project)), body.kind, body.content_type));
      },
    }),
  ];
}
