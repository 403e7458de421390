import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildVoiceJoinCommand } from '../../../providers/speech/voice-command';
import { parseWavHeader } from '../../../providers/speech/wav';

describe('voice join command', () => {
  it('pads each line with its pause and concatenates in one AAC encode', () => {
    const command = buildVoiceJoinCommand({
      parts: [
        { kind: 'speech', path: '/w/a.wav', pauseAfterSec: 0.1 },
        { kind: 'silence', durationSec: 1 },
        { kind: 'speech', path: '/w/b.wav', pauseAfterSec: 0 },
      ],
      inputSampleRate: 22050,
      inputChannels: 1,
      sampleRate: 44100,
      channels: 1,
      bitrate: '128k',
      outputPath: '/w/voice.m4a',
    });
    assert.deepEqual(command.inputs, [['-i', '/w/a.wav'], ['-f', 'lavfi', '-t', '1', '-i', 'anullsrc=r=22050:cl=mono'], ['-i', '/w/b.wav']]);
    assert.equal(command.filterGraph, '[0:a]apad=pad_dur=0.1[part0];[part0][1:a][2:a]concat=n=3:v=0:a=1[voice]');
    assert.deepEqual(command.outputArgs, ['-map', '[voice]', '-c:a', 'aac', '-b:a', '128k', '-ar', '44100', '-ac', '1', '-movflags', '+faststart', '/w/voice.m4a']);
  });
});

describe('WAV header', () => {
  it('reads a WAV duration from its header, also when the writer left a placeholder size', () => {
    const header = Buffer.alloc(44);
    header.write('RIFF', 0, 'ascii');
    header.write('WAVE', 8, 'ascii');
    header.write('fmt ', 12, 'ascii');
    header.writeUInt32LE(16, 16);
    header.writeUInt16LE(1, 20);
    header.writeUInt16LE(1, 22);
    header.writeUInt32LE(22050, 24);
    header.writeUInt32LE(44100, 28);
    header.writeUInt16LE(2, 32);
    header.writeUInt16LE(16, 34);
    header.write('data', 36, 'ascii');
    header.writeUInt32LE(44100, 40);
    assert.deepEqual(parseWavHeader(header, 44 + 44100), { channels: 1, sampleRate: 22050, bitsPerSample: 16, durationSec: 1 });
    header.writeUInt32LE(0xffffffff, 40);
    assert.equal(parseWavHeader(header, 44 + 22050).durationSec, 0.5);
    assert.throws(() => parseWavHeader(Buffer.from('not a wav file at all........'), 30), /RIFF/);
  });
});
