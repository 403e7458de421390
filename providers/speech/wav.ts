import { open, readFile } from 'node:fs/promises';

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
  return locateWavData(header, fileSize).info;
}

function locateWavData(header: Buffer, fileSize: number): { info: WavInfo; dataOffset: number; dataSize: number } {
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
      return { info: { ...format, durationSec: dataSize / byteRate }, dataOffset: body, dataSize };
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

/**
 * The pauses inside a 16-bit PCM WAV: runs of 10 ms windows quieter than `thresholdDb` (dBFS) at
 * least `minSec` long, leaving out the silence before the first sound and after the last.
 */
export async function wavPauses(path: string, minSec: number, thresholdDb = -35): Promise<{ startSec: number; endSec: number }[]> {
  const file = await readFile(path);
  const { info, dataOffset, dataSize } = locateWavData(file, file.length);
  if (info.bitsPerSample !== 16) throw new Error(`${path}: pauses are measured in 16-bit PCM, not ${info.bitsPerSample}-bit`);
  const frameBytes = 2 * info.channels;
  const windowFrames = Math.max(1, Math.round(info.sampleRate / 100));
  const windows = Math.floor(dataSize / frameBytes / windowFrames);
  const limit = 32768 * 10 ** (thresholdDb / 20);
  const quiet: boolean[] = [];
  for (let w = 0; w < windows; w++) {
    let sum = 0;
    const start = dataOffset + w * windowFrames * frameBytes;
    for (let i = 0; i < windowFrames * info.channels; i++) sum += file.readInt16LE(start + 2 * i) ** 2;
    quiet.push(Math.sqrt(sum / (windowFrames * info.channels)) < limit);
  }
  const windowSec = windowFrames / info.sampleRate;
  const first = quiet.indexOf(false);
  const last = quiet.lastIndexOf(false);
  const pauses: { startSec: number; endSec: number }[] = [];
  for (let w = first + 1; first !== -1 && w < last; w++) {
    if (!quiet[w]) continue;
    let end = w;
    while (end < last && quiet[end]) end++;
    if ((end - w) * windowSec >= minSec) pauses.push({ startSec: w * windowSec, endSec: end * windowSec });
    w = end;
  }
  return pauses;
}
