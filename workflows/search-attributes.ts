import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Custom search attributes: an operator finds any workflow in the Temporal Web UI by content,
 * project, organization, owner, channel or data source, and sees the step a production is at.
 * Each is registered with the server at start (see `SEARCH_ATTRIBUTES`).
 */
export const ContentIdKey = defineSearchAttributeKey('ContentId', SearchAttributeType.KEYWORD);
export const ProjectIdKey = defineSearchAttributeKey('ProjectId', SearchAttributeType.KEYWORD);
export const OrganizationIdKey = defineSearchAttributeKey('OrganizationId', SearchAttributeType.KEYWORD);
export const OwnerUserIdKey = defineSearchAttributeKey('OwnerUserId', SearchAttributeType.KEYWORD);
export const DataSourceIdKey = defineSearchAttributeKey('DataSourceId', SearchAttributeType.KEYWORD);
export const PipelineStepKey = defineSearchAttributeKey('PipelineStep', SearchAttributeType.KEYWORD);
export const ChannelIdKey = defineSearchAttributeKey('ChannelId', SearchAttributeType.KEYWORD);

export const SEARCH_ATTRIBUTES = [ContentIdKey, ProjectIdKey, OrganizationIdKey, OwnerUserIdKey, DataSourceIdKey, PipelineStepKey, ChannelIdKey];

