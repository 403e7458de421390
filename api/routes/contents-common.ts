import Joi from 'joi';
import type { Sequelize } from 'sequelize';
import type { Models, Project, Role } from '../../db/models';
import { contentWithCallerRole, type ContentRow } from '../../db/repositories/content-reads';
import type { ContentOwner, ContentWithProject } from '../../db/repositories/contents';
import { requireInProject, requireRole } from '../tenancy';

/**
 * What every content route shares: loading a content the caller may act on, and the schemas of
 * the text it accepts.
 */

export type { ContentWithProject };

/** Loads a content and its project, checking `need`: 404 when the caller may not see it, 403 when the role is too low. */
export async function loadContent(models: Models, userId: string, contentId: string, need: Role): Promise<{ content: ContentWithProject; role: Role }> {
  const { row, role } = await requireInProject(models, models.Content, 'content', userId, contentId, need);
  return { content: row, role };
}

/**
 * Reads a content and its owner to show it, checking `need` exactly as `loadContent` does (404 when
 * the caller may not see it, 403 when the role is too low), in one query and without a model instance.
 */
export async function readContent(sequelize: Sequelize, userId: string, contentId: string, need: Role): Promise<{ content: ContentRow; owner: ContentOwner }> {
  const found = await contentWithCallerRole(sequelize, contentId, userId);
  requireRole(found?.role, need, 'content', found?.owner.organizationId ?? null);
  return { content: found!.content, owner: found!.owner };
}

/** Who owns the content of a loaded project: its user or organization. */
export function ownerOf(project: Pick<Project, 'id' | 'user_id' | 'organization_id'>): ContentOwner {
  return { projectId: project.id, userId: project.user_id, organizationId: project.organization_id };
}

// PostgreSQL refuses NUL in TEXT and JSONB, and a lone surrogate cannot be encoded as UTF-8: both
// are refused here as a 400 instead of failing in the database.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function storableText(value: string): boolean {
  return !value.includes('\u0000') && !LONE_SURROGATE.test(value);
}

/** A string PostgreSQL can store as given (no NUL, well-formed UTF-16), of at most `max` characters. */
export function text(max: number): Joi.StringSchema {
  return Joi.string()
    .max(max)
    .custom((value: string, helpers) => (storableText(value) ? value : helpers.message({ custom: 'must not contain NUL characters or unpaired surrogates' })));
}

const JSON_MAX_DEPTH = 20;

function storableJson(value: unknown, depth: number): boolean {
  if (depth > JSON_MAX_DEPTH) return false;
  if (typeof value === 'string') return storableText(value);
  if (Array.isArray(value)) return value.every((v) => storableJson(v, depth + 1));
  if (value !== null && typeof value === 'object') return Object.entries(value).every(([k, v]) => storableText(k) && storableJson(v, depth + 1));
  return true;
}

/** Free-form JSON data (a source's payload) of bounded size and depth that PostgreSQL can store. */
export function jsonObject(maxChars: number): Joi.ObjectSchema {
  return Joi.object()
    .unknown(true)
    .custom((value: object, helpers) => {
      if (JSON.stringify(value).length > maxChars) return helpers.message({ custom: `must be at most ${maxChars} characters of JSON` });
      if (!storableJson(value, 0)) return helpers.message({ custom: `must nest at most ${JSON_MAX_DEPTH} levels and hold no NUL characters or unpaired surrogates` });
      return value;
    });
}

export const contentFields = {
  title: text(200).trim().min(1),
  description: text(5000).allow('', null),
  tags: Joi.array().items(text(50).trim().min(1)).max(30).unique(),
};

