import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { probe, requireStream } from '../../providers/ffmpeg/runner';
import type { SceneImage, TemplateLook } from '../../providers/types';

/** The look the image provider suites fit pictures to: a 720×1280 portrait frame. */
export const PORTRAIT_LOOK: TemplateLook = { width: 720, height: 1280, colors: { primary: '#1E3A8A', secondary: '#F59E0B' }, font: 'Noto Sans CJK KR' };

/** Asserts every image is a PNG of exactly the look's size. */
export async function assertFitted(images: SceneImage[], look: TemplateLook): Promise<void> {
  for (const image of images) {
    const info = await probe(image.path);
    const video = requireStream(info, 'video');
    assert.equal(info.formatName, 'png_pipe', `${image.path} is a PNG`);
    assert.equal(video.width, look.width);
    assert.equal(video.height, look.height);
  }
}

/** How many of the images differ in their bytes. */
export async function distinctPictures(images: SceneImage[]): Promise<number> {
  const all = await Promise.all(images.map(async (image) => createHash('sha256').update(await readFile(image.path)).digest('hex')));
  return new Set(all).size;
}
