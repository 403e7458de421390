import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ffmpegColor, filterValue, formatNumber } from '../../../providers/ffmpeg/command';
import { formatCommandLine } from '../../../providers/ffmpeg/runner';

describe('filter graph syntax', () => {
  it('escapes option values at both levels of filter graph parsing', () => {
    assert.equal(filterValue('/tmp/a b/c.txt'), '/tmp/a b/c.txt');
    assert.equal(filterValue(String.raw`C:\it's [x];y,z`), String.raw`C\\:\\\\it\\\'s \[x\]\;y\,z`);
  });

  it('accepts template colours and refuses anything that could alter the graph', () => {
    assert.equal(ffmpegColor('#1e88e5'), '0x1E88E5');
    assert.equal(ffmpegColor('#fa0', 0.3), '0xFFAA00@0.3');
    assert.equal(ffmpegColor('White'), 'white');
    assert.throws(() => ffmpegColor('red:x=1'), /unsupported colour/);
  });

  it('formats numbers without trailing zeros', () => {
    assert.equal(formatNumber(1.5), '1.5');
    assert.equal(formatNumber(2), '2');
    assert.equal(formatNumber(0.12345, 4), '0.1235');
  });

  it('renders a command line for logs with quoting', () => {
    assert.equal(formatCommandLine('ffmpeg', ['-i', 'a b.png', "it's"]), `ffmpeg -i 'a b.png' 'it'\\''s'`);
  });
});
