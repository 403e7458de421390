import { createHash } from 'node:crypto';

/**
 * Where a content's media live in the bucket: one folder per owner (organization or user), project
 * and content, so a tenant's files can be listed, copied or deleted together.
 *
 * An expensive step's outputs are found by the content and a hash of the step's inputs
 * (`inputsHash`), next to a record of the finished step (`step.json`): a retry, or a production of
 * the same inputs, finds them there instead of paying for them again. Speech and scene images live
 * in a folder named by that hash. The video stays where publishing reads it (`video`), so its
 * record (`renderRecord`) names the hash of the inputs it was rendered from.
 */
export interface MediaOwner {
  organizationId: string | null;
  userId: string | null;
  projectId: string;
}

function tenantOf(owner: MediaOwner): string {
  return owner.organizationId ? `orgs/${owner.organizationId}` : `users/${owner.userId}`;
}

/** The folder of a project's uploads (the creator's own pictures, clips and music), `<uuid>.<ext>` each. */
export function projectUploadsPrefix(owner: MediaOwner): string {
  return `${tenantOf(owner)}/projects/${owner.projectId}/uploads/`;
}

/** The folder of an organization's logo uploads (white label), `<uuid>.<ext>` each. */
export function organizationLogoPrefix(organizationId: string): string {
  return `orgs/${organizationId}/logo/`;
}

export function contentMediaKeys(owner: MediaOwner, contentId: string) {
  const base = `${tenantOf(owner)}/projects/${owner.projectId}/contents/${contentId}`;
  return {
    base,
    speech: (inputsHash: string) => ({
      audio: `${base}/audio/${inputsHash}/voice.m4a`,
      manifest: `${base}/audio/${inputsHash}/speech.json`,
      record: `${base}/audio/${inputsHash}/step.json`,
    }),
    images: (inputsHash: string) => ({
      scene: (index: number) => `${base}/scenes/${inputsHash}/${String(index).padStart(2, '0')}.png`,
      clip: (index: number) => `${base}/scenes/${inputsHash}/${String(index).padStart(2, '0')}.mp4`,
      record: `${base}/scenes/${inputsHash}/step.json`,
    }),
    video: `${base}/video/video.mp4`,
    thumbnail: `${base}/video/thumbnail.jpg`,
    captions: `${base}/video/video.vtt`,
    renderRecord: `${base}/video/step.json`,
    /** A captions step's files. */
    captionFiles: {
      srt: `${base}/captions/captions.srt`,
      vtt: `${base}/captions/captions.vtt`,
      ass: `${base}/captions/captions.ass`,
    },
  };
}

/** The volume of music under the voice when the creator or the project gives none. */
export const DEFAULT_MUSIC_VOLUME = 0.25;

/** JSON with object keys in order, so equal inputs always hash alike. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, field]) => field !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, field]) => `${JSON.stringify(key)}:${canonicalJson(field)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The hash of a step's inputs (SHA-256 of their canonical JSON, 16 hex digits) that names its outputs. */
export function inputsHash(inputs: unknown): string {
  return createHash('sha256').update(canonicalJson(inputs)).digest('hex').slice(0, 16);
}
