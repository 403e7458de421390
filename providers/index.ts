import type { AppConfig, ProviderName, ProviderOrder, ProviderOrders, ProviderStep } from '../lib/config';
import type { CircuitBreaker } from './circuit-breaker';
import type { ConcurrencyLimiter, ConcurrencySlot } from './concurrency';
import { OpenAiImageProvider } from './images/openai-images';
import { PexelsImageProvider } from './images/pexels';
import { SceneCardImageProvider } from './images/scene-cards';
import { StockFootageProvider } from './images/stock-footage';
import { imagesInOrder, renderersInOrder, safetyCheckersInOrder, scriptWritersInOrder, speechInOrder, type FallbackPolicy, type OrderedEngine } from './fallback';
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
  /** Each provider's circuit, shared by all workers, for steps with more than one provider. */
  breaker?: CircuitBreaker;
  /** Whose circuits they are: 'platform' unless the engines run on an organization's own keys. */
  circuitOwner?: string;
}

/**
 * The embedded default is every engine local and offline; SCRIPT_PROVIDER, SAFETY_PROVIDER,
 * TTS_PROVIDER, IMAGE_PROVIDER and RENDER_PROVIDER pick remote services per deployment, each one
 * provider or an ordered list of them (providers/fallback.ts). `orders` replaces the deployment's
 * order of some steps (a project's own).
 */
export function createProviders(config: AppConfig, services: ProviderServices = {}, orders: Partial<ProviderOrders> = {}): Providers {
  const order: ProviderOrders = {
    script: orders.script ?? config.script.providers,
    safety: orders.safety ?? config.safety.providers,
    tts: orders.tts ?? config.tts.providers,
    images: orders.images ?? config.images.providers,
    render: orders.render ?? config.render.providers,
  };
  const policy: FallbackPolicy = {
    tries: config.fallback.tries,
    maxRetryWaitMs: config.fallback.maxRetryWaitMs,
    ...(services.breaker ? { breaker: services.breaker } : {}),
    circuitPrefix: `autoclip:circuit:${services.circuitOwner ?? 'platform'}`,
  };
  const compose = <E, S extends ProviderStep>(step: ProviderOrder<S>, build: (name: ProviderName<S>) => E, inOrder: (engines: OrderedEngine<E>[], policy: FallbackPolicy) => E): E => {
    if (step.length === 1) return build(step[0]!);
    return inOrder(step.map((name) => ({ name, engine: build(name) })), policy);
  };
  return {
    scriptWriter: compose(order.script, (name) => scriptWriterNamed(config, name), scriptWritersInOrder),
    safetyChecker: compose(order.safety, (name) => safetyCheckerNamed(config, name), safetyCheckersInOrder),
    safetyThreshold: config.pipeline.safetyThreshold,
    speech: compose(order.tts, (name) => speechSynthesizerNamed(config, name, services), speechInOrder),
    images: compose(order.images, (name) => imageProviderNamed(config, name, services), imagesInOrder),
    renderer: compose(order.render, (name) => rendererNamed(config, name, services), renderersInOrder),
  };
}

function slotFor(services: ProviderServices, key: string, limit: number): { slot?: ConcurrencySlot } {
  return services.limiter ? { slot: { limiter: services.limiter, key, limit } } : {};
}

function safetyCheckerNamed(config: AppConfig, name: ProviderName<'safety'>): SafetyChecker {
  const { gemini, openai, timeoutMs } = config.script;
  if (name === 'gemini') return new GeminiSafetyChecker({ apiKey: gemini.apiKey ?? '', baseUrl: gemini.baseUrl, model: gemini.model, prices: gemini.prices, timeoutMs });
  if (name === 'openai') {
    return new OpenAiModerationChecker({ ...(openai.apiKey ? { apiKey: openai.apiKey } : {}), baseUrl: openai.baseUrl, model: config.safety.moderationModel, timeoutMs });
  }
  return new LocalSafetyChecker();
}

function speechSynthesizerNamed(config: AppConfig, name: ProviderName<'tts'>, services: ProviderServices): SpeechSynthesizer {
  const { elevenlabs } = config.tts;
  if (name !== 'elevenlabs') return new EspeakSpeechSynthesizer();
  return new ElevenLabsSpeechSynthesizer({
    apiKey: elevenlabs.apiKey ?? '',
    baseUrl: elevenlabs.baseUrl,
    model: elevenlabs.model,
    voices: elevenlabs.voices,
    pricePerThousandCharsUsd: elevenlabs.pricePerThousandCharsUsd,
    ...slotFor(services, 'elevenlabs', elevenlabs.concurrency),
  });
}

function imageProviderNamed(config: AppConfig, name: ProviderName<'images'>, services: ProviderServices): ImageProvider {
  const { pexels, pixabay, openai, concurrency } = config.images;
  if (name === 'stock') {
    return new StockFootageProvider({
      ...(pexels.apiKey ? { pexels: { apiKey: pexels.apiKey, baseUrl: pexels.baseUrl } } : {}),
      ...(pixabay.apiKey ? { pixabay: { apiKey: pixabay.apiKey, baseUrl: pixabay.baseUrl } } : {}),
      fallback: new SceneCardImageProvider(),
      ...slotFor(services, 'stock', concurrency),
    });
  }
  if (name === 'pexels') {
    return new PexelsImageProvider({ apiKey: pexels.apiKey ?? '', baseUrl: pexels.baseUrl, fallback: new SceneCardImageProvider(), ...slotFor(services, 'pexels', concurrency) });
  }
  if (name === 'openai') {
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

function rendererNamed(config: AppConfig, name: ProviderName<'render'>, services: ProviderServices): Renderer {
  const { creatomate } = config.render;
  if (name !== 'creatomate') return new FfmpegRenderer({ preset: config.render.x264Preset });
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

function scriptWriterNamed(config: AppConfig, name: ProviderName<'script'>): ScriptWriter {
  const { timeoutMs, gemini, openai } = config.script;
  if (name === 'gemini') return new GeminiScriptWriter({ ...gemini, timeoutMs });
  if (name === 'openai') return new OpenAiScriptWriter({ ...openai, timeoutMs });
  return new LocalScriptWriter();
}

/** The script writers `SCRIPT_PROVIDER` names, in its order (the offline templates by default). */
export function createScriptWriter(config: AppConfig): ScriptWriter {
  return createProviders(config).scriptWriter;
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
