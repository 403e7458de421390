/** The offline media engines: espeak-ng speech, ffmpeg scene cards and the ffmpeg renderer. */
export { EspeakSpeechSynthesizer, type EspeakOptions } from './espeak-tts';
export { FfmpegRenderer, type FfmpegRendererOptions } from './ffmpeg-renderer';
export { SceneCardImageProvider, renderSubtitleStrips, type SceneCardOptions, type SubtitleStrip } from './scene-cards';
export { FfmpegError, probe, runFfmpeg, type FfmpegRunOptions, type MediaInfo, type MediaStreamInfo } from './ffmpeg-runner';
export { HangulFontMissingError, hangulFontFile } from './fonts';
