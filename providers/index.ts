import type { AppConfig } from '../lib/config';
import type { ConcurrencyLimiter, ConcurrencySlot } from './concurrency';
import { OpenAiImageProvider } from './images/openai-images';
import { PexelsImageProvider } from './images/pexels';
import { SceneCardImageProvider } from './images/scene-cards';
import { StockFootageProvider } from './images/stock-footage';
import { InstagramClient } from './platforms/instagram';
import { TikTokClient } from './platforms/tiktok';
import { YouTubeClient } from './platforms/youtube';
import { CreatomateRenderer } from './render/creatomate';
import { FfmpegRenderer } from './render/ffmpeg-renderer';
import { GeminiSafetyChecker } from './safety/gemini-checker';
import { LocalSafetyChecker } from './safety/local-checker';
import { OpenAiModerationChecker } from './safety/openai-moderation';
import { GeminiScriptWriter } from './script/gemini-writer';
import { LocalScriptWriter } from './script/local-writer';
import { OpenAiScriptWriter } from './script/openai-writer';
import type { SourceSettings } from './sources';
import { ElevenLabsSpeechSynthesizer } from './speech/elevenlabs-tts';
import { EspeakSpeechSynthesizer } from './speech/espeak-tts';
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

/** What the remote engines need from the process beyond the configuration. */
export interface ProviderServices {
  /** Shares each provider's concurrency limit among all workers. */
  limiter?: ConcurrencyLimiter;
  /** Makes a local file fetchable by a cloud renderer (an S3 upload and a presigned URL). */
  publish?: (localPath: string, contentType: string) => Promise<string>;
}

/**
 * The embedded default is every engine local and offline; SCRIPT_PROVIDER, SAFETY_PROVIDER,
 * TTS_PROVIDER, IMAGE_PROVIDER and RENDER_PROVIDER pick remote services per deployment.
 */
export function createProviders(config: AppConfig, services: ProviderServices = {}): Providers {
  return {
    scriptWriter: createScriptWriter(config),
    safetyChecker: createSafetyChecker(config),
    safetyThreshold: config.pipeline.safetyThreshold,
    speech: createSpeechSynthesizer(config, services),
    images: createImageProvider(config, services),
    renderer: createRenderer(config, services),
  };
}

function slotFor(services: ProviderServices, key: string, limit: number): { slot?: ConcurrencySlot } {
  return services.limiter ? { slot: { limiter: services.limiter, key, limit } } : {};
}

function createSafetyChecker(config: AppConfig): SafetyChecker {
  const { gemini, openai, timeoutMs } = config.script;
  if (config.safety.provider === 'gemini') return new GeminiSafetyChecker({ apiKey: gemini.apiKey ?? '', baseUrl: gemini.baseUrl, model: gemini.model, prices: gemini.prices, timeoutMs });
  if (config.safety.provider === 'openai') {
    return new OpenAiModerationChecker({ ...(openai.apiKey ? { apiKey: openai.apiKey } : {}), baseUrl: openai.baseUrl, model: config.safety.moderationModel, timeoutMs });
  }
  return new LocalSafetyChecker();
}

function createSpeechSynthesizer(config: AppConfig, services: ProviderServices = {}): SpeechSynthesizer {
  const { provider, elevenlabs } = config.tts;
  if (provider !== 'elevenlabs') return new EspeakSpeechSynthesizer();
  return new ElevenLabsSpeechSynthesizer({
    apiKey: elevenlabs.apiKey ?? '',
    baseUrl: elevenlabs.baseUrl,
    model: elevenlabs.model,
    voices: elevenlabs.voices,
    pricePerThousandCharsUsd: elevenlabs.pricePerThousandCharsUsd,
    ...slotFor(services, 'elevenlabs', elevenlabs.concurrency),
  });
}

function createImageProvider(config: AppConfig, services: ProviderServices = {}): ImageProvider {
  const { provider, pexels, pixabay, openai, concurrency } = config.images;
  if (provider === 'stock') {
    return new StockFootageProvider({
      ...(pexels.apiKey ? { pexels: { apiKey: pexels.apiKey, baseUrl: pexels.baseUrl } } : {}),
      ...(pixabay.apiKey ? { pixabay: { apiKey: pixabay.apiKey, baseUrl: pixabay.baseUrl } } : {}),
      fallback: new SceneCardImageProvider(),
      ...slotFor(services, 'stock', concurrency),
    });
  }
  if (provider === 'pexels') {
    return new PexelsImageProvider({ apiKey: pexels.apiKey ?? '', baseUrl: pexels.baseUrl, fallback: new SceneCardImageProvider(), ...slotFor(services, 'pexels', concurrency) });
  }
  if (provider === 'openai') {
    const server = config.script.openai;
    return new OpenAiImageProvider({
      ...(server.apiKey ? { apiKey: server.apiKey } : {}),
      baseUrl: server.baseUrl,
      model: openai.model,
      pricePerImageUsd: openai.pricePerImageUsd,
      ...slotFor(services, 'openai-images', concurrency),
    });
  }
  return new SceneCardImageProvider();
}

function createRenderer(config: AppConfig, services: ProviderServices = {}): Renderer {
  const { provider, creatomate } = config.render;
  if (provider !== 'creatomate') return new FfmpegRenderer({ preset: config.render.x264Preset });
  if (!services.publish) throw new Error('the Creatomate renderer needs a way to publish its inputs (ProviderServices.publish)');
  return new CreatomateRenderer({
    apiKey: creatomate.apiKey ?? '',
    templateId: creatomate.templateId ?? '',
    baseUrl: creatomate.baseUrl,
    publish: services.publish,
    pricePerCreditUsd: creatomate.pricePerCreditUsd,
    pollIntervalMs: creatomate.pollIntervalMs,
    ...slotFor(services, 'creatomate', creatomate.concurrency),
  });
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

export function createTikTokClient(config: AppConfig): TikTokClient {
  const { apiUrl } = config.tiktok;
  return new TikTokClient(apiUrl ? { baseUrl: apiUrl } : {});
}

export function createInstagramClient(config: AppConfig): InstagramClient {
  const { graphUrl, apiVersion } = config.instagram;
  return new InstagramClient({ ...(graphUrl ? { graphUrl } : {}), ...(apiVersion ? { apiVersion } : {}) });
}

/** The data-source clients' settings (seed §3.6.1 source types). */
export function sourceSettings(config: AppConfig): SourceSettings {
  const { googleNewsUrl, pubmedUrl, pubmedApiKey, yahooFinanceUrl, youtubeApiKey, youtubeApiUrl, timeoutMs } = config.sources;
  return {
    endpoints: { googleNewsUrl, pubmedUrl, yahooFinanceUrl, youtubeApiUrl },
    ...(youtubeApiKey ? { youtubeApiKey } : {}),
    ...(pubmedApiKey ? { pubmedApiKey } : {}),
    timeoutMs,
  };
}
