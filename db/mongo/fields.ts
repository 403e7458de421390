/**
 * Field definitions shared by the MongoDB models. Rows in PostgreSQL are keyed by UUID, so
 * references to them are stored as canonical lower-case UUID strings: an equality find with the
 * id that PostgreSQL returned then always matches.
 */
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export const uuidField = { type: String, lowercase: true, trim: true, match: UUID_PATTERN } as const;

export const requiredUuidField = { ...uuidField, required: true } as const;
