/**
 * The video's timeline in frames: the intro, the narration's scenes and the outro, each scene cut
 * into shots (one picture or clip each), the transitions between shots, and the chunks the render
 * is made in. Pure arithmetic, so every boundary is decided once, in whole frames.
 *
 * A transition of `d` frames blends a shot's last `d` frames (frames past its nominal end) into
 * the next shot's first `d` frames, starting at the next shot's nominal start: the picture changes
 * where the voice moves to the next scene, and the video keeps the voice's length. Chunks are cut
 * where no blend is running (just after one ends), so each chunk is an ffmpeg run of its own,
 * joined to the others without encoding again.
 */

export interface TimelineShot {
  /** The scene (index in the request) the shot belongs to. */
  scene: number;
  /** Index of the picture or clip among the request's shots. */
  shot: number;
  /** First frame on the video's timeline. */
  startFrame: number;
  /** Frames it shows alone up to the next shot's start (the blend into the next one comes after). */
  frames: number;
  /** Frames of the stream it feeds: its frames plus the blend into the next shot. */
  streamFrames: number;
}

export interface ChunkPart {
  /** Index in `Timeline.shots`. */
  shot: number;
  /** The frames of the shot's stream this chunk uses: [fromFrame, toFrame). */
  fromFrame: number;
  toFrame: number;
}

export interface TimelineChunk {
  startFrame: number;
  endFrame: number;
  parts: ChunkPart[];
  /** Where each blend starts, in frames from the chunk's start (one fewer than parts). */
  blendOffsets: number[];
}

export interface Timeline {
  fps: number;
  totalFrames: number;
  introFrames: number;
  outroFrames: number;
  transitionFrames: number;
  shots: TimelineShot[];
  chunks: TimelineChunk[];
}

export interface TimelineRequest {
  fps: number;
  /** The voice's length. */
  voiceSec: number;
  introSec: number;
  outroSec: number;
  /** Scene starts on the voice's timeline, in order, with the number of shots each has (≥ 1). */
  scenes: readonly { startSec: number; shots: number }[];
  /** Length of a blend between shots; 0 for cuts. */
  transitionSec: number;
  /** A chunk ends at the first shot boundary past this length. */
  chunkSec: number;
}

/** The shortest a shot may be next to its blend: a blend takes at most half of it. */
function transitionFramesFor(requested: number, shotFrames: readonly number[]): number {
  if (shotFrames.length < 2) return 0;
  const shortest = Math.min(...shotFrames);
  return Math.max(0, Math.min(requested, Math.floor(shortest / 2)));
}

export function planTimeline(request: TimelineRequest): Timeline {
  const { fps } = request;
  if (request.scenes.length === 0) throw new Error('a timeline needs at least one scene');
  request.scenes.forEach((scene, index) => {
    if (!Number.isFinite(scene.startSec) || (index > 0 && scene.startSec <= (request.scenes[index - 1] as { startSec: number }).startSec)) {
      throw new Error(`scene ${index} does not start after the scene before it`);
    }
    if (index > 0 && scene.startSec >= request.voiceSec) throw new Error(`scene ${index} starts after the voice ends`);
  });
  const introFrames = Math.round(request.introSec * fps);
  const voiceFrames = Math.round(request.voiceSec * fps);
  const outroFrames = Math.round(request.outroSec * fps);
  const totalFrames = introFrames + voiceFrames + outroFrames;

  // Scene k shows from its voice start (the first scene from the video's first frame, under the
  // intro) to the next scene's start; the last scene runs under the outro to the end.
  const sceneStarts = request.scenes.map((scene, index) => (index === 0 ? 0 : introFrames + Math.min(voiceFrames, Math.max(0, Math.round(scene.startSec * fps)))));
  const shotStarts: { scene: number; source: number; start: number }[] = [];
  let firstSource = 0;
  request.scenes.forEach((scene, index) => {
    const start = sceneStarts[index] as number;
    const end = sceneStarts[index + 1] ?? totalFrames;
    // A scene shorter than its shots in frames shows as many of them as it has frames.
    const count = Math.max(1, Math.min(scene.shots, Math.max(1, end - start)));
    for (let i = 0; i < count; i++) shotStarts.push({ scene: index, source: firstSource + i, start: start + Math.round(((end - start) * i) / count) });
    firstSource += scene.shots;
  });
  const frames = shotStarts.map((shot, index) => Math.max(1, (shotStarts[index + 1]?.start ?? totalFrames) - shot.start));
  const transitionFrames = transitionFramesFor(Math.round(request.transitionSec * fps), frames);
  const shots: TimelineShot[] = shotStarts.map((shot, index) => ({
    scene: shot.scene,
    shot: shot.source,
    startFrame: shot.start,
    frames: frames[index] as number,
    streamFrames: (frames[index] as number) + (index < shotStarts.length - 1 ? transitionFrames : 0),
  }));

  const chunks: TimelineChunk[] = [];
  const chunkFrames = Math.max(1, Math.round(request.chunkSec * fps));
  let first = 0;
  while (first < shots.length) {
    const chunkStart = first === 0 ? 0 : (shots[first] as TimelineShot).startFrame + transitionFrames;
    let last = first;
    while (last < shots.length - 1 && (shots[last + 1] as TimelineShot).startFrame + transitionFrames - chunkStart < chunkFrames) last++;
    const endsVideo = last === shots.length - 1;
    const chunkEnd = endsVideo ? totalFrames : (shots[last + 1] as TimelineShot).startFrame + transitionFrames;
    const parts: ChunkPart[] = [];
    for (let index = first; index <= last; index++) {
      const shot = shots[index] as TimelineShot;
      parts.push({ shot: index, fromFrame: index === first && first > 0 ? transitionFrames : 0, toFrame: shot.streamFrames });
    }
    if (!endsVideo && transitionFrames > 0) parts.push({ shot: last + 1, fromFrame: 0, toFrame: transitionFrames });
    const blendOffsets = parts.slice(1).map((part) => (shots[part.shot] as TimelineShot).startFrame - chunkStart);
    chunks.push({ startFrame: chunkStart, endFrame: chunkEnd, parts, blendOffsets });
    first = last + 1;
  }
  return { fps, totalFrames, introFrames, outroFrames, transitionFrames, shots, chunks };
}
