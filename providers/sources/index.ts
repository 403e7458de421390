import type { DataSourceSpec } from '../../db/models/json';
import { PermanentProviderError } from '../errors';
import { FinanceFetcher } from './finance';
import { KeywordFetcher } from './keyword';
import { RssFetcher } from './rss';
import type { SourceFetcher, SourceSettings } from './types';
import { YouTubeChannelFetcher } from './youtube-channel';

/**
 * The client of a data source, chosen by its `source_type` and bound to its `config` (seed
 * §3.6.1). A config no client can serve (an unknown type, api_type or keyword source, no YouTube
 * API key) throws `PermanentProviderError`, which activities turn into a non-retryable failure.
 */

export * from './types';

export function createSourceFetcher(spec: DataSourceSpec, settings: SourceSettings = {}): SourceFetcher {
  switch (spec.source_type) {
    case 'rss':
      return new RssFetcher(spec.config, settings);
    case 'keyword':
      return new KeywordFetcher(spec.config, settings);
    case 'api':
      return new FinanceFetcher(spec.config, settings);
    case 'youtube_channel':
      return new YouTubeChannelFetcher(spec.config, settings);
    default:
      throw new PermanentProviderError(`source_type ${JSON.stringify((spec as { source_type: unknown }).source_type)} has no client`);
  }
}
