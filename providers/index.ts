import type { AppConfig } from '../lib/config';
import { EspeakSpeechSynthesizer } from './media/espeak-tts';
import { FfmpegRenderer } from './media/ffmpeg-renderer';
import { SceneCardImageProvider } from './media/scene-cards';
import { YouTubeClient } from './platforms/youtube';
import { LocalSafetyChecker } from './safety/local-checker';
import { LocalScriptWriter } from './script/local-writer';
import type { ImageProvider, Renderer, SafetyChecker, ScriptWriter, SpeechSynthesizer } from './types';

/** The engines a worker uses, chosen once from the configuration. */
export interface Providers {
  scriptWriter: ScriptWriter;
  safetyChecker: SafetyChecker;
  safetyThreshold: number;
  speech: SpeechSynthesizer;
  images: ImageProvider;
  renderer: Renderer;
}

/** The embedded default: every engine local and offline. */
export function createProviders(config: AppConfig): Providers {
  return {
    scriptWriter: new LocalScriptWriter(),
    safetyChecker: new LocalSafetyChecker(),
    safetyThreshold: config.pipeline.safetyThreshold,
    speech: new EspeakSpeechSynthesizer(),
    images: new SceneCardImageProvider(),
    renderer: new FfmpegRenderer(),
  };
}

export function createYouTubeClient(config: AppConfig): YouTubeClient {
  const { oauthUrl, uploadUrl, apiUrl } = config.youtube;
  return new YouTubeClient({
    endpoints: { ...(oauthUrl ? { oauthUrl } : {}), ...(uploadUrl ? { uploadUrl } : {}), ...(apiUrl ? { apiUrl } : {}) },
  });
}
