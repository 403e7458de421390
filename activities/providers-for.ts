import { createHash } from 'node:crypto';
import type { KeyProvider } from '../db/models';
import type { ProviderKeyRepository } from '../db/repositories/provider-keys';
import type { AppConfig } from '../lib/config';
import { createProviders, type ProviderServices, type Providers } from '../providers';
import { billOwnKeys, currentJob } from './recording';

/** How long an organization's keys are kept before they are read again. */
const KEYS_TTL_MS = 60_000;

/** The key providers the deployment's engines call (SCRIPT_PROVIDER, TTS_PROVIDER, …): only their keys are substituted. */
function selectedKeyProviders(config: AppConfig): Set<KeyProvider> {
  const selected = new Set<KeyProvider>();
  if (config.script.provider === 'gemini' || config.safety.provider === 'gemini') selected.add('gemini');
  if (config.script.provider === 'openai' || config.safety.provider === 'openai' || config.images.provider === 'openai') selected.add('openai');
  if (config.tts.provider === 'elevenlabs') selected.add('elevenlabs');
  if (config.images.provider === 'pexels' || config.images.provider === 'stock') selected.add('pexels');
  if (config.render.provider === 'creatomate') selected.add('creatomate');
  return selected;
}

/** `config` with the given keys in place of the platform's; the choice of engines is unchanged. */
function withOrganizationKeys(config: AppConfig, keys: Partial<Record<KeyProvider, string>>): AppConfig {
  const { script, tts, images, render } = config;
  return {
    ...config,
    script: {
      ...script,
      gemini: { ...script.gemini, apiKey: keys.gemini ?? script.gemini.apiKey },
      openai: { ...script.openai, apiKey: keys.openai ?? script.openai.apiKey },
    },
    tts: { ...tts, elevenlabs: { ...tts.elevenlabs, apiKey: keys.elevenlabs ?? tts.elevenlabs.apiKey } },
    images: { ...images, pexels: { ...images.pexels, apiKey: keys.pexels ?? images.pexels.apiKey } },
    render: { ...render, creatomate: { ...render.creatomate, apiKey: keys.creatomate ?? render.creatomate.apiKey } },
  };
}

/**
 * The engines for the running activity's content: the platform's, or — for a content of an
 * organization that stored its own key for a provider the deployment uses — engines built with
 * that key (issue 14). It also tells the recording scope which services are then paid by the
 * organization, so their `api_usages` rows say `billed_to = 'organization'`. An organization's
 * keys are read at most once a minute; its engines are rebuilt only when its keys change.
 */
export class ProvidersFor {
  private readonly selected: Set<KeyProvider>;
  private readonly keys = new Map<string, { at: number; keys: Promise<Partial<Record<KeyProvider, string>>> }>();
  private readonly engines = new Map<string, { fingerprint: string; providers: Providers; services: ReadonlySet<string> }>();

  constructor(
    private readonly platform: Providers,
    private readonly config: AppConfig,
    private readonly services: ProviderServices,
    private readonly repository: Pick<ProviderKeyRepository, 'keysFor'> | undefined,
    private readonly now: () => number = Date.now,
  ) {
    this.selected = selectedKeyProviders(config);
  }

  /** Always the platform's engines (no organization keys). */
  static fixed(providers: Providers, config: AppConfig): ProvidersFor {
    return new ProvidersFor(providers, config, {}, undefined);
  }

  /** The engines for the content the running activity records into (`currentJob()`). */
  async current(): Promise<Providers> {
    const { providers, services } = await this.forOrganization(currentJob()?.organizationId ?? null);
    if (services.size > 0) billOwnKeys(services);
    return providers;
  }

  /** The engines for `organizationId`, and the services they call with the organization's keys. */
  async forOrganization(organizationId: string | null): Promise<{ providers: Providers; services: ReadonlySet<string> }> {
    const none = { providers: this.platform, services: new Set<string>() };
    if (!organizationId || !this.repository || this.selected.size === 0) return none;
    const all = await this.organizationKeys(organizationId);
    const used = Object.fromEntries(Object.entries(all).filter(([provider, key]) => key && this.selected.has(provider as KeyProvider))) as Partial<Record<KeyProvider, string>>;
    const names = Object.keys(used).sort();
    if (names.length === 0) return none;
    const fingerprint = createHash('sha256').update(JSON.stringify(names.map((name) => [name, used[name as KeyProvider]]))).digest('hex');
    const cached = this.engines.get(organizationId);
    if (cached?.fingerprint === fingerprint) return cached;
    const built = { fingerprint, providers: createProviders(withOrganizationKeys(this.config, used), this.services), services: new Set<string>(names) };
    this.engines.set(organizationId, built);
    return built;
  }

  private async organizationKeys(organizationId: string): Promise<Partial<Record<KeyProvider, string>>> {
    const cached = this.keys.get(organizationId);
    if (cached && this.now() - cached.at < KEYS_TTL_MS) return cached.keys;
    const entry = { at: this.now(), keys: this.repository!.keysFor(organizationId) };
    this.keys.set(organizationId, entry);
    entry.keys.catch(() => this.keys.delete(organizationId));
    return entry.keys;
  }
}
