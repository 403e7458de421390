import { createHash } from 'node:crypto';
import type { KeyProvider, Project } from '../db/models';
import type { ProviderKeyRepository } from '../db/repositories/provider-keys';
import { availableProviders, providerOrders, STEP_PROVIDERS, type AppConfig, type ProviderOrders, type ProviderStep } from '../lib/config';
import { moduleLogger } from '../lib/logger';
import { createProviders, type ProviderServices, type Providers } from '../providers';
import { billOwnKeys, currentJob } from './recording';

const log = moduleLogger('providers-for');

/** How long an organization's keys are kept before they are read again. */
const KEYS_TTL_MS = 60_000;

/** The key providers the engines of these orders call: only their keys are substituted. */
function keyProvidersOf(orders: ProviderOrders): Set<KeyProvider> {
  const named = new Set<string>([...orders.script, ...orders.safety].map((name) => `llm:${name}`));
  for (const [step, order] of Object.entries(orders)) for (const name of order) named.add(`${step}:${name}`);
  const selected = new Set<KeyProvider>();
  if (named.has('llm:gemini')) selected.add('gemini');
  if (named.has('llm:openai') || named.has('images:openai')) selected.add('openai');
  if (named.has('tts:elevenlabs')) selected.add('elevenlabs');
  if (named.has('images:pexels') || named.has('images:stock')) selected.add('pexels');
  if (named.has('render:creatomate')) selected.add('creatomate');
  return selected;
}

/**
 * A project's own order of providers (`style_preset.providers`, e.g. `{ tts: ['local'], images:
 * ['pexels', 'local'] }`, checked by the API): the steps it orders, each with the providers this
 * deployment can still run (a key removed since is left out, with a warning; a step left with
 * none follows the deployment's order).
 */
export function projectProviderOrders(config: AppConfig, project: Pick<Project, 'id' | 'style_preset'>): Partial<ProviderOrders> {
  const wanted = project.style_preset?.providers;
  if (!wanted || typeof wanted !== 'object' || Array.isArray(wanted)) return {};
  const available = availableProviders(config);
  const orders: Partial<Record<ProviderStep, string[]>> = {};
  for (const step of Object.keys(STEP_PROVIDERS) as ProviderStep[]) {
    const order = (wanted as Record<string, unknown>)[step];
    if (!Array.isArray(order)) continue;
    const usable = order.filter((name): name is string => typeof name === 'string' && (available[step] as readonly string[]).includes(name));
    if (usable.length < order.length) log.warn({ projectId: project.id, step, order, usable }, "the project's order names providers this deployment cannot run; they are left out");
    if (usable.length > 0) orders[step] = [...new Set(usable)];
  }
  return orders as Partial<ProviderOrders>;
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
 * organization that stored its own key for a provider its engines call (issue 14), or of a project
 * with its own order of providers (`projectProviderOrders`) — engines built for it. It also tells
 * the recording scope which services are then paid by the organization, so their `api_usages` rows
 * say `billed_to = 'organization'`. An organization's keys are read at most once a minute; its
 * engines are rebuilt only when its keys or the order change. Engines on an organization's own keys
 * have circuits of their own (providers/circuit-breaker.ts): its key failing says nothing of the
 * platform's.
 */
export class ProvidersFor {
  private readonly keys = new Map<string, { at: number; keys: Promise<Partial<Record<KeyProvider, string>>> }>();
  private readonly engines = new Map<string, { fingerprint: string; providers: Providers; services: ReadonlySet<string> }>();

  constructor(
    private readonly platform: Providers,
    private readonly config: AppConfig,
    private readonly services: ProviderServices,
    private readonly repository: Pick<ProviderKeyRepository, 'keysFor'> | undefined,
    private readonly now: () => number = Date.now,
  ) {}

  /** Always the platform's engines (no organization keys), in the project's order when it has one. */
  static fixed(providers: Providers, config: AppConfig): ProvidersFor {
    return new ProvidersFor(providers, config, {}, undefined);
  }

  /** The engines for the content the running activity records into (`currentJob()`), in `orders` where given. */
  async current(orders: Partial<ProviderOrders> = {}): Promise<Providers> {
    const { providers, services } = await this.forOrganization(currentJob()?.organizationId ?? null, orders);
    if (services.size > 0) billOwnKeys(services);
    return providers;
  }

  /** The engines for `organizationId` in `orders`, and the services they call with the organization's keys. */
  async forOrganization(organizationId: string | null, orders: Partial<ProviderOrders> = {}): Promise<{ providers: Providers; services: ReadonlySet<string> }> {
    const ordered = Object.keys(orders).length > 0;
    const selected = keyProvidersOf({ ...providerOrders(this.config), ...orders });
    const all = organizationId && this.repository && selected.size > 0 ? await this.organizationKeys(organizationId) : {};
    const used = Object.fromEntries(Object.entries(all).filter(([provider, key]) => key && selected.has(provider as KeyProvider))) as Partial<Record<KeyProvider, string>>;
    const names = Object.keys(used).sort();
    if (names.length === 0 && !ordered) return { providers: this.platform, services: new Set<string>() };
    const cacheKey = `${names.length > 0 ? organizationId : 'platform'}|${JSON.stringify(orders)}`;
    const fingerprint = createHash('sha256').update(JSON.stringify(names.map((name) => [name, used[name as KeyProvider]]))).digest('hex');
    const cached = this.engines.get(cacheKey);
    if (cached?.fingerprint === fingerprint) return cached;
    const services = names.length > 0 ? { ...this.services, circuitOwner: `org:${organizationId}` } : this.services;
    const built = { fingerprint, providers: createProviders(withOrganizationKeys(this.config, used), services, orders), services: new Set<string>(names) };
    this.engines.set(cacheKey, built);
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
