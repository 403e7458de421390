/**
 * Where a content's media live in the bucket: one folder per owner (organization or user), project
 * and content, so a tenant's files can be listed, copied or deleted together.
 */
export interface MediaOwner {
  organizationId: string | null;
  userId: string | null;
  projectId: string;
}

export function contentMediaKeys(owner: MediaOwner, contentId: string) {
  const tenant = owner.organizationId ? `orgs/${owner.organizationId}` : `users/${owner.userId}`;
  const base = `${tenant}/projects/${owner.projectId}/contents/${contentId}`;
  return {
    base,
    audio: `${base}/audio/voice.m4a`,
    speechManifest: `${base}/audio/speech.json`,
    scene: (index: number) => `${base}/scenes/${String(index).padStart(2, '0')}.png`,
    video: `${base}/video/video.mp4`,
    thumbnail: `${base}/video/thumbnail.jpg`,
  };
}
