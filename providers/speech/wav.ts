import { open } from 'node:fs/promises';

export interface WavInfo {
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  durationSec: number;
}

/**
 * Reads a PCM WAV header and returns the exact duration of its data chunk. A data size left as
 * a placeholder by a streaming writer (0 or 0xFFFFFFFF) is replaced by what the file holds.
 */
export function parseWavHeader(header: Buffer, fileSize: number): WavInfo {
  if (header.toString('ascii', 0, 4) !== 'RIFF' || header.toString('ascii', 8, 12) !== 'WAVE') {
    throw new Error('not a RIFF/WAVE file');
  }
  let format: Omit<WavInfo, 'durationSec'> | undefined;
  let byteRate = 0;
  for (let offset = 12; offset + 8 <= header.length; ) {
    const id = header.toString('ascii', offset, offset + 4);
    const size = header.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === 'fmt ' && body + 16 <= header.length) {
      format = { channels: header.readUInt16LE(body + 2), sampleRate: header.readUInt32LE(body + 4), bitsPerSample: header.readUInt16LE(body + 14) };
      byteRate = header.readUInt32LE(body + 8);
    } else if (id === 'data') {
      if (!format || byteRate === 0) throw new Error('WAVE data chunk before its fmt chunk');
      const available = fileSize - body;
      const dataSize = size === 0 || size === 0xffffffff || size > available ? available : size;
      return { ...format, durationSec: dataSize / byteRate };
    }
    offset = body + size + (size % 2);
  }
  throw new Error('WAVE header without a data chunk in its first bytes');
}

/** Duration and format of a WAV file, from its header alone. */
export async function readWavInfo(path: string): Promise<WavInfo> {
  const file = await open(path, 'r');
  try {
    const { size } = await file.stat();
    const header = Buffer.alloc(Math.min(size, 4096));
    await file.read(header, 0, header.length, 0);
    return parseWavHeader(header, size);
  } finally {
    await file.close();
  }
}
