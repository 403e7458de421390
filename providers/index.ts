import type { AppConfig } from '../lib/config';
import { EspeakSpeechSynthesizer } from './media/espeak-tts';
import { FfmpegRenderer } from './media/ffmpeg-renderer';
import { SceneCardImageProvider } from './media/scene-cards';
import { YouTubeClient } from './platforms/youtube';
import { LocalSafetyChecker } from './safety/local-checker';
import { GeminiScriptWriter } from './script/gemini-writer';
import { LocalScriptWriter } from './script/local-writer';
import { OpenAiScriptWriter } from './script/openai-writer';
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

/** The embedded default is every engine local and offline; `SCRIPT_PROVIDER` picks a remote script writer. */
export function createProviders(config: AppConfig): Providers {
  return {
    scriptWriter: createScriptWriter(config),
    safetyChecker: new LocalSafetyChecker(),
    safetyThreshold: config.pipeline.safetyThreshold,
    speech: new EspeakSpeechSynthesizer(),
    images: new SceneCardImageProvider(),
    renderer: new FfmpegRenderer(),
  };
}

/** The script writer `SCRIPT_PROVIDER` names (the offline templates by default). */
export function createScriptWriter(config: AppConfig): ScriptWriter {
  const { provider, timeoutMs, gemini, openai } = config.script;
  if (provider === 'gemini') return new GeminiScriptWriter({ ...gemini, timeoutMs });
  if (provider === 'openai') return new OpenAiScriptWriter({ ...openai, timeoutMs });
  return new LocalScriptWriter();
}

export function createYouTubeClient(config: AppConfig): YouTubeClient {
  const { oauthUrl, uploadUrl, apiUrl } = config.youtube;
  return new YouTubeClient({
    endpoints: { ...(oauthUrl ? { oauthUrl } : {}), ...(uploadUrl ? { uploadUrl } : {}), ...(apiUrl ? { apiUrl } : {}) },
  });
}
