import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planTimeline, type Timeline, type TimelineRequest } from '../../../providers/render/timeline';

/** 1 s intro, 10 s of voice in three scenes (2, 3 and 1 shots), 1 s outro, 0.5 s blends, 3 s chunks. */
const REQUEST: TimelineRequest = {
  fps: 30,
  voiceSec: 10,
  introSec: 1,
  outroSec: 1,
  scenes: [
    { startSec: 0, shots: 2 },
    { startSec: 3, shots: 3 },
    { startSec: 7, shots: 1 },
  ],
  transitionSec: 0.5,
  chunkSec: 3,
};

/**
 * What every timeline must satisfy: shots tile the video, each streams its frames plus the blend
 * into the next, chunks tile the video and end just after a blend, and the chunks' parts use
 * every frame of every shot's stream exactly once, in order.
 */
function assertConsistent(timeline: Timeline): void {
  const { shots, chunks, transitionFrames: blend, totalFrames } = timeline;
  assert.equal(shots.reduce((sum, shot) => sum + shot.frames, 0), totalFrames, 'shot frames add up to the video');
  assert.equal(shots[0]?.startFrame, 0);
  shots.forEach((shot, index) => {
    assert.equal(shot.shot, index);
    const next = shots[index + 1];
    assert.equal(shot.startFrame + shot.frames, next ? next.startFrame : totalFrames, `shot ${index} ends where the next starts`);
    assert.equal(shot.streamFrames, shot.frames + (next ? blend : 0), `shot ${index} streams its blend into the next`);
    assert.ok(shot.frames >= 2 * blend, `shot ${index} is at least twice the blend`);
  });

  assert.equal(chunks[0]?.startFrame, 0);
  assert.equal(chunks.at(-1)?.endFrame, totalFrames);
  const blendEnds = new Set(shots.slice(1).map((shot) => shot.startFrame + blend));
  chunks.forEach((chunk, index) => {
    assert.ok(chunk.endFrame > chunk.startFrame, `chunk ${index} has frames`);
    const next = chunks[index + 1];
    if (next) {
      assert.equal(chunk.endFrame, next.startFrame, `chunk ${index} ends where the next starts`);
      assert.ok(blendEnds.has(chunk.endFrame), `chunk ${index} ends at frame ${chunk.endFrame}, just after a blend`);
    }
    assert.equal(chunk.blendOffsets.length, chunk.parts.length - 1);
    const partFrames = chunk.parts.reduce((sum, part) => sum + part.toFrame - part.fromFrame, 0);
    assert.equal(partFrames - blend * chunk.blendOffsets.length, chunk.endFrame - chunk.startFrame, `chunk ${index}'s parts less its blends fill it`);
    chunk.blendOffsets.forEach((offset, blendIndex) => {
      const into = shots[chunk.parts[blendIndex + 1]?.shot ?? -1];
      assert.equal(chunk.startFrame + offset, into?.startFrame, `blend ${blendIndex} of chunk ${index} starts at the next shot's start`);
      assert.ok(offset >= 0 && offset + blend <= chunk.endFrame - chunk.startFrame, `blend ${blendIndex} of chunk ${index} lies inside it`);
    });
  });

  shots.forEach((shot, index) => {
    const parts = chunks.flatMap((chunk) => chunk.parts.filter((part) => part.shot === index));
    assert.ok(parts.length > 0, `shot ${index} is used`);
    let covered = 0;
    for (const part of parts) {
      assert.equal(part.fromFrame, covered, `shot ${index} continues where its previous part stopped`);
      assert.ok(part.toFrame > part.fromFrame);
      covered = part.toFrame;
    }
    assert.equal(covered, shot.streamFrames, `shot ${index}'s stream is used to its end`);
  });
}

describe('render timeline', () => {
  it('puts the intro under the first scene, splits scenes into even shots and the outro under the last', () => {
    const timeline = planTimeline(REQUEST);
    assert.deepEqual(
      { fps: timeline.fps, totalFrames: timeline.totalFrames, introFrames: timeline.introFrames, outroFrames: timeline.outroFrames, transitionFrames: timeline.transitionFrames },
      { fps: 30, totalFrames: 30 + 300 + 30, introFrames: 30, outroFrames: 30, transitionFrames: 15 },
    );
    assert.deepEqual(timeline.shots, [
      { scene: 0, shot: 0, startFrame: 0, frames: 60, streamFrames: 75 },
      { scene: 0, shot: 1, startFrame: 60, frames: 60, streamFrames: 75 },
      { scene: 1, shot: 2, startFrame: 120, frames: 40, streamFrames: 55 },
      { scene: 1, shot: 3, startFrame: 160, frames: 40, streamFrames: 55 },
      { scene: 1, shot: 4, startFrame: 200, frames: 40, streamFrames: 55 },
      { scene: 2, shot: 5, startFrame: 240, frames: 120, streamFrames: 120 },
    ]);
    assertConsistent(timeline);
  });

  it('cuts chunks at the first blend end past the chunk length, each part a slice of a shot’s stream', () => {
    const timeline = planTimeline(REQUEST);
    assert.deepEqual(timeline.chunks, [
      {
        startFrame: 0,
        endFrame: 135,
        parts: [
          { shot: 0, fromFrame: 0, toFrame: 75 },
          { shot: 1, fromFrame: 0, toFrame: 75 },
          { shot: 2, fromFrame: 0, toFrame: 15 },
        ],
        blendOffsets: [60, 120],
      },
      {
        startFrame: 135,
        endFrame: 255,
        parts: [
          { shot: 2, fromFrame: 15, toFrame: 55 },
          { shot: 3, fromFrame: 0, toFrame: 55 },
          { shot: 4, fromFrame: 0, toFrame: 55 },
          { shot: 5, fromFrame: 0, toFrame: 15 },
        ],
        blendOffsets: [25, 65, 105],
      },
      { startFrame: 255, endFrame: 360, parts: [{ shot: 5, fromFrame: 15, toFrame: 120 }], blendOffsets: [] },
    ]);
  });

  it('starts each scene at its voice start after the intro, rounded to a frame', () => {
    const timeline = planTimeline({
      fps: 25,
      voiceSec: 9.987,
      introSec: 1.23,
      outroSec: 0.77,
      scenes: [
        { startSec: 0.4, shots: 1 },
        { startSec: 2.519, shots: 2 },
        { startSec: 6.061, shots: 1 },
      ],
      transitionSec: 0.3,
      chunkSec: 30,
    });
    assert.equal(timeline.introFrames, 31);
    assert.equal(timeline.outroFrames, 19);
    assert.equal(timeline.totalFrames, 31 + 250 + 19);
    const sceneStarts = [0, 1, 2].map((scene) => timeline.shots.find((shot) => shot.scene === scene)?.startFrame);
    assert.deepEqual(sceneStarts, [0, 31 + 63, 31 + 152], 'the first scene from frame 0, the others at intro + round(startSec × fps)');
    assert.equal(timeline.transitionFrames, 8);
    assert.equal(timeline.chunks.length, 1, 'a video shorter than a chunk is one chunk');
    assertConsistent(timeline);
  });

  it('keeps its invariants over frame rates, lengths, shot counts and chunk lengths', () => {
    const cases: TimelineRequest[] = [
      { ...REQUEST, chunkSec: 0.1 },
      { ...REQUEST, chunkSec: 600 },
      { ...REQUEST, introSec: 0, outroSec: 0 },
      { ...REQUEST, fps: 24, voiceSec: 10.013, introSec: 2.5, outroSec: 1.5, chunkSec: 4 },
      { ...REQUEST, fps: 60, transitionSec: 1, chunkSec: 2 },
      {
        fps: 30,
        voiceSec: 61.37,
        introSec: 2,
        outroSec: 3,
        scenes: Array.from({ length: 9 }, (_, index) => ({ startSec: index * 6.7 + (index % 3) * 0.11, shots: 1 + (index % 4) })),
        transitionSec: 0.4,
        chunkSec: 10,
      },
    ];
    for (const request of cases) assertConsistent(planTimeline(request));
  });

  it('never splits a blend: a chunk boundary falls on the frame after one ends, and the next chunk takes the shot from there', () => {
    const timeline = planTimeline({ ...REQUEST, chunkSec: 1 });
    assert.ok(timeline.chunks.length > 2);
    for (const [index, chunk] of timeline.chunks.slice(1).entries()) {
      const first = chunk.parts[0];
      const shot = timeline.shots[first?.shot ?? -1];
      assert.equal(chunk.startFrame, (shot?.startFrame ?? NaN) + timeline.transitionFrames, `chunk ${index + 1} starts just after its first shot's blend in`);
      assert.equal(first?.fromFrame, timeline.transitionFrames, `chunk ${index + 1} skips the frames the previous chunk blended`);
      const previous = timeline.chunks[index]?.parts.at(-1);
      assert.deepEqual(previous, { shot: first?.shot, fromFrame: 0, toFrame: timeline.transitionFrames }, `chunk ${index} ends with the blend into that shot`);
    }
  });

  it('gives a shot longer than the chunk length a chunk of its own', () => {
    const timeline = planTimeline({ ...REQUEST, chunkSec: 0.5 });
    assert.deepEqual(
      timeline.chunks.map((chunk) => chunk.parts.map((part) => part.shot)),
      [[0, 1], [1, 2], [2, 3], [3, 4], [4, 5], [5]],
    );
    assertConsistent(timeline);
  });

  it('plans a cut (no transition) without blends: streams are the shots, chunks end at shot starts', () => {
    const timeline = planTimeline({ ...REQUEST, transitionSec: 0 });
    assert.equal(timeline.transitionFrames, 0);
    for (const shot of timeline.shots) assert.equal(shot.streamFrames, shot.frames);
    assert.deepEqual(
      timeline.chunks.map((chunk) => ({ startFrame: chunk.startFrame, endFrame: chunk.endFrame, parts: chunk.parts })),
      [
        {
          startFrame: 0,
          endFrame: 120,
          parts: [
            { shot: 0, fromFrame: 0, toFrame: 60 },
            { shot: 1, fromFrame: 0, toFrame: 60 },
          ],
        },
        {
          startFrame: 120,
          endFrame: 240,
          parts: [
            { shot: 2, fromFrame: 0, toFrame: 40 },
            { shot: 3, fromFrame: 0, toFrame: 40 },
            { shot: 4, fromFrame: 0, toFrame: 40 },
          ],
        },
        { startFrame: 240, endFrame: 360, parts: [{ shot: 5, fromFrame: 0, toFrame: 120 }] },
      ],
    );
    assertConsistent(timeline);
  });

  it('shortens the blend to half the shortest shot, and has none with a single shot', () => {
    const short = planTimeline({
      ...REQUEST,
      scenes: [
        { startSec: 0, shots: 1 },
        { startSec: 2, shots: 1 },
        { startSec: 2.3, shots: 1 },
      ],
      transitionSec: 1,
    });
    assert.equal(short.shots[1]?.frames, 9);
    assert.equal(short.transitionFrames, 4);
    assertConsistent(short);

    const single = planTimeline({ ...REQUEST, scenes: [{ startSec: 0, shots: 1 }] });
    assert.equal(single.transitionFrames, 0);
    assert.deepEqual(single.shots, [{ scene: 0, shot: 0, startFrame: 0, frames: 360, streamFrames: 360 }]);
    assert.deepEqual(single.chunks, [{ startFrame: 0, endFrame: 360, parts: [{ shot: 0, fromFrame: 0, toFrame: 360 }], blendOffsets: [] }]);
  });

  it('refuses a timeline without scenes', () => {
    assert.throws(() => planTimeline({ ...REQUEST, scenes: [] }), /at least one scene/);
  });
});
