import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { shotsPerScene } from '../../activities/templates';
import { SYSTEM_TEMPLATES } from '../../db/seeds/reference-data';
import type { TemplateData } from '../../db/models';

const SHORT = (SYSTEM_TEMPLATES[0] ?? assert.fail('a system template')).template_data;

function withBody(body: Partial<TemplateData['elements']['body']>): TemplateData {
  return { ...SHORT, elements: { ...SHORT.elements, body: { ...SHORT.elements.body, ...body } } };
}

describe("the template's pace", () => {
  it('gives a moving picture a new move about every scene_duration seconds of its scene', () => {
    const every4 = withBody({ scene_duration: 4, motion: 'ken_burns' });
    assert.equal(shotsPerScene(every4, 'image', 12), 3);
    assert.equal(shotsPerScene(every4, 'image', 13.9), 3);
    assert.equal(shotsPerScene(every4, 'image', 14.1), 4);
    assert.equal(shotsPerScene(every4, 'image', 1), 1, 'a short scene is one shot');
  });

  it('keeps a still picture and a clip one shot', () => {
    assert.equal(shotsPerScene(withBody({ scene_duration: 4, motion: 'static' }), 'image', 12), 1);
    assert.equal(shotsPerScene(withBody({ scene_duration: 4, motion: 'ken_burns' }), 'video', 12), 1);
  });
});
