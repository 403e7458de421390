import type Joi from 'joi';
import { license, version } from '../package.json';
import type { AnyRouteSpec, HttpMethod } from './registry';

/**
 * The OpenAPI 3.1 document of the API, built from the same route declarations that mount and
 * validate the routes, and a Joi → JSON Schema (2020-12, the dialect of OpenAPI 3.1) converter
 * working from `schema.describe()`.
 */
export interface JsonSchema {
  $ref?: string;
  type?: string | string[];
  format?: string;
  description?: string;
  default?: unknown;
  examples?: unknown[];
  enum?: unknown[];
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  contentEncoding?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  multipleOf?: number;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  patternProperties?: Record<string, JsonSchema>;
  minProperties?: number;
  maxProperties?: number;
  dependentRequired?: Record<string, string[]>;
  dependentSchemas?: Record<string, JsonSchema>;
  items?: JsonSchema | false;
  prefixItems?: JsonSchema[];
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  not?: JsonSchema;
}

/** The parts of Joi's `describe()` output the converter reads. */
interface Described {
  type: string;
  flags?: {
    presence?: 'optional' | 'required' | 'forbidden';
    only?: boolean;
    default?: unknown;
    description?: string;
    unknown?: boolean;
    empty?: Described;
    format?: string;
    match?: 'any' | 'one' | 'all';
  };
  allow?: unknown[];
  invalid?: unknown[];
  examples?: unknown[];
  rules?: { name: string; args?: Record<string, unknown> }[];
  keys?: Record<string, Described>;
  patterns?: { regex?: string; schema?: Described; rule: Described }[];
  dependencies?: { rel: string; key?: string; peers: string[] }[];
  items?: Described[];
  ordered?: Described[];
  matches?: { schema?: Described; then?: Described; otherwise?: Described; switch?: { then?: Described; otherwise?: Described }[] }[];
}

type Literal = string | number | boolean | null;
const isLiteral = (v: unknown): v is Literal => v === null || ['string', 'number', 'boolean'].includes(typeof v);
/** Limits given as references to other fields cannot be written in JSON Schema: they are left out. */
const limit = (rule: { args?: Record<string, unknown> }): number | undefined => (typeof rule.args?.limit === 'number' ? rule.args.limit : undefined);

/**
 * Rules left out on purpose: transforms (applied with `convert`) and `custom` checks, which only the
 * server can run (their description, when given, is shown instead).
 */
const NOT_EXPRESSED = new Set(['trim', 'case', 'normalize', 'truncate', 'precision', 'unsafe', 'sparse', 'single', 'compare', 'timestamp', 'custom']);

const STRING_FORMATS: Record<string, string> = { email: 'email', guid: 'uuid', uuid: 'uuid', uri: 'uri', isoDate: 'date-time', isoDuration: 'duration', hostname: 'hostname', domain: 'hostname' };
const STRING_PATTERNS: Record<string, string> = { hex: '^[0-9a-fA-F]*$', alphanum: '^[a-zA-Z0-9]*$', token: '^\\w*$' };

export interface ConvertOptions {
  /** Told of each Joi type, rule or dependency the document cannot express (so a test can insist on none). */
  onUnsupported?: (what: string) => void;
}

export function joiToJsonSchema(schema: Joi.Schema, options: ConvertOptions = {}): JsonSchema {
  return convert(schema.describe() as Described, options.onUnsupported ?? (() => undefined), '');
}

type Report = (what: string) => void;

function convert(d: Described, report: Report, at: string): JsonSchema {
  const annotations: JsonSchema = {};
  const checks = (d.rules ?? []).filter((r) => r.name === 'custom' && typeof r.args?.description === 'string').map((r) => String(r.args?.description));
  const description = [d.flags?.description, ...checks].filter(Boolean).join('; ');
  if (description) annotations.description = description;
  // Function defaults are not described at all, references and `special` ones are not data.
  const fallback = d.flags?.default;
  if (fallback !== undefined && !(typeof fallback === 'object' && fallback !== null && ('ref' in fallback || 'special' in fallback))) annotations.default = fallback;
  if (d.examples?.length) annotations.examples = d.examples;

  const allowed = [...(d.allow ?? []), ...(d.flags?.empty?.allow ?? [])].filter(isLiteral);
  if (d.flags?.only && allowed.length > 0) {
    const types = [...new Set(allowed.map(jsonTypeOf))];
    return { ...annotations, type: types.length === 1 ? types[0] : types, enum: allowed };
  }
  let out = byType(d, report, at);
  const invalid = (d.invalid ?? []).filter(isLiteral);
  if (invalid.length > 0) out.not = out.not ? { anyOf: [out.not, { enum: invalid }] } : { enum: invalid };

  let extras = allowed;
  if (out.type === 'string' && !out.minLength && !out.pattern && !out.format) extras = extras.filter((v) => v !== '');
  if (extras.includes(null) && typeof out.type === 'string') {
    out = { ...out, type: [out.type, 'null'] };
    extras = extras.filter((v) => v !== null);
  }
  if (extras.length > 0 && Object.keys(out).length > 0) out = { anyOf: [out, { enum: extras }] };
  return { ...annotations, ...out };
}

function jsonTypeOf(value: Literal): string {
  if (value === null) return 'null';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function byType(d: Described, report: Report, at: string): JsonSchema {
  switch (d.type) {
    case 'string':
      return stringSchema(d, report, at);
    case 'number':
      return numberSchema(d, report, at);
    case 'boolean':
      return { type: 'boolean' };
    case 'date':
      // Joi.date() takes ISO strings (or epoch numbers in `timestamp()` mode); min/max may be "now".
      return d.flags?.format === 'javascript' || d.flags?.format === 'unix' ? { type: 'number' } : { type: 'string', format: 'date-time' };
    case 'binary':
      return { type: 'string', contentEncoding: 'base64' };
    case 'object':
      return objectSchema(d, report, at);
    case 'array':
      return arraySchema(d, report, at);
    case 'alternatives':
      return alternativesSchema(d, report, at);
    case 'any':
      return {};
    default:
      report(`${at || 'schema'}: type ${d.type}`);
      return {};
  }
}

function stringSchema(d: Described, report: Report, at: string): JsonSchema {
  const out: JsonSchema = { type: 'string' };
  const patterns: string[] = [];
  for (const rule of d.rules ?? []) {
    const format = STRING_FORMATS[rule.name];
    const options = rule.args?.options as { relativeOnly?: boolean; allowRelative?: boolean; invert?: boolean; version?: string[] } | undefined;
    if (format) out.format = rule.name === 'uri' && (options?.relativeOnly || options?.allowRelative) ? 'uri-reference' : format;
    else if (rule.name in STRING_PATTERNS) patterns.push(STRING_PATTERNS[rule.name]!);
    else if (rule.name === 'min') out.minLength = limit(rule);
    else if (rule.name === 'max') out.maxLength = limit(rule);
    else if (rule.name === 'length') out.minLength = out.maxLength = limit(rule);
    else if (rule.name === 'base64') out.contentEncoding = 'base64';
    else if (rule.name === 'ip' && options?.version?.length === 1) out.format = options.version[0];
    else if (rule.name === 'pattern') {
      const source = regexSource(String(rule.args?.regex), report, at);
      if (options?.invert) out.not = { pattern: source };
      else patterns.push(source);
    } else if (!NOT_EXPRESSED.has(rule.name)) report(`${at || 'schema'}: string rule ${rule.name}`);
  }
  // Joi refuses the empty string unless a length rule, allow('') or empty('') says otherwise (no format matches it).
  const emptyAllowed = d.allow?.includes('') || d.flags?.empty !== undefined;
  if (out.minLength === undefined && !out.format && !emptyAllowed) out.minLength = 1;
  if (patterns.length === 1) out.pattern = patterns[0];
  else if (patterns.length > 1) out.allOf = patterns.map((pattern) => ({ pattern }));
  for (const key of Object.keys(out) as (keyof JsonSchema)[]) if (out[key] === undefined) delete out[key];
  return out;
}

/** `/^a+$/` → `^a+$`. JSON Schema patterns carry no flags: any but `u` changes the meaning. */
function regexSource(literal: string, report: Report, at: string): string {
  const match = /^\/(.*)\/([a-z]*)$/s.exec(literal);
  if (!match) return literal;
  const [, source = '', flags = ''] = match;
  if (flags.replace('u', '') !== '') report(`${at || 'schema'}: regex flags ${flags}`);
  return source;
}

function numberSchema(d: Described, report: Report, at: string): JsonSchema {
  const out: JsonSchema = { type: 'number' };
  for (const rule of d.rules ?? []) {
    const value = limit(rule);
    switch (rule.name) {
      case 'integer':
        out.type = 'integer';
        break;
      case 'min':
        out.minimum = value;
        break;
      case 'max':
        out.maximum = value;
        break;
      case 'greater':
        out.exclusiveMinimum = value;
        break;
      case 'less':
        out.exclusiveMaximum = value;
        break;
      case 'sign':
        if (rule.args?.sign === 'positive') out.exclusiveMinimum = 0;
        else out.exclusiveMaximum = 0;
        break;
      case 'multiple':
        if (typeof rule.args?.base === 'number') out.multipleOf = rule.args.base;
        break;
      case 'port':
        Object.assign(out, { type: 'integer', minimum: 0, maximum: 65535 });
        break;
      default:
        if (!NOT_EXPRESSED.has(rule.name)) report(`${at || 'schema'}: number rule ${rule.name}`);
    }
  }
  for (const key of Object.keys(out) as (keyof JsonSchema)[]) if (out[key] === undefined) delete out[key];
  return out;
}

function objectSchema(d: Described, report: Report, at: string): JsonSchema {
  const out: JsonSchema = { type: 'object' };
  if (d.keys) {
    out.properties = {};
    const required: string[] = [];
    for (const [key, child] of Object.entries(d.keys)) {
      // A forbidden key is simply absent: additionalProperties already refuses it.
      if (child.flags?.presence === 'forbidden') continue;
      out.properties[key] = convert(child, report, at ? `${at}.${key}` : key);
      if (child.flags?.presence === 'required') required.push(key);
    }
    if (required.length > 0) out.required = required;
  }
  // The registry validates with allowUnknown: false: an object with keys or patterns refuses any
  // other key unless `.unknown()` opens it; an object with neither takes any key.
  if ((d.keys || d.patterns) && !d.flags?.unknown) out.additionalProperties = false;
  for (const pattern of d.patterns ?? []) {
    if (pattern.regex) (out.patternProperties ??= {})[regexSource(pattern.regex, report, at)] = convert(pattern.rule, report, `${at}[pattern]`);
    else out.additionalProperties = convert(pattern.rule, report, `${at}[pattern]`);
  }
  for (const rule of d.rules ?? []) {
    if (rule.name === 'min') out.minProperties = limit(rule);
    else if (rule.name === 'max') out.maxProperties = limit(rule);
    else if (rule.name === 'length') out.minProperties = out.maxProperties = limit(rule);
    else if (!NOT_EXPRESSED.has(rule.name)) report(`${at || 'schema'}: object rule ${rule.name}`);
  }
  const constraints = (d.dependencies ?? []).flatMap((dep) => dependency(out, dep, report, at));
  if (constraints.length === 1) Object.assign(out, constraints[0]);
  else if (constraints.length > 1) out.allOf = constraints;
  return out;
}

const present = (key: string): JsonSchema => ({ required: [key] });
/** None of `keys` is present: each is refused by an always-false schema. */
const absent = (keys: string[]): JsonSchema => ({ properties: Object.fromEntries(keys.map((key) => [key, { not: {} }])) });

/** Joi's key relations as JSON Schema: `with` and `without` in place, the others as constraints to add. */
function dependency(out: JsonSchema, dep: { rel: string; key?: string; peers: string[] }, report: Report, at: string): JsonSchema[] {
  const { rel, key, peers } = dep;
  switch (rel) {
    case 'or':
      return [{ anyOf: peers.map(present) }];
    case 'xor':
      return [{ oneOf: peers.map(present) }];
    case 'oxor':
      return [{ oneOf: [...peers.map(present), absent(peers)] }];
    case 'and':
      return [{ anyOf: [{ required: peers }, absent(peers)] }];
    case 'nand':
      return [{ anyOf: peers.map((peer) => absent([peer])) }];
    case 'with':
      if (key) (out.dependentRequired ??= {})[key] = peers;
      return [];
    case 'without':
      if (key) (out.dependentSchemas ??= {})[key] = absent(peers);
      return [];
    default:
      report(`${at || 'schema'}: object relation ${rel}`);
      return [];
  }
}

function arraySchema(d: Described, report: Report, at: string): JsonSchema {
  const out: JsonSchema = { type: 'array' };
  const items = (d.items ?? []).map((item) => convert(item, report, `${at}[]`));
  if (items.length === 1) out.items = items[0];
  else if (items.length > 1) out.items = { anyOf: items };
  if (d.ordered?.length) {
    out.prefixItems = d.ordered.map((item, i) => convert(item, report, `${at}[${i}]`));
    // Joi refuses elements past the ordered ones unless items() describes them.
    out.items ??= false;
  }
  for (const rule of d.rules ?? []) {
    if (rule.name === 'min') out.minItems = limit(rule);
    else if (rule.name === 'max') out.maxItems = limit(rule);
    else if (rule.name === 'length') out.minItems = out.maxItems = limit(rule);
    else if (rule.name === 'unique') out.uniqueItems = true;
    else if (!NOT_EXPRESSED.has(rule.name)) report(`${at || 'schema'}: array rule ${rule.name}`);
  }
  return out;
}

/**
 * Joi tries alternatives in order and takes the first that matches, which is anyOf (oneOf would
 * refuse a value two branches accept); `match('one')` and `match('all')` map to oneOf and allOf.
 * A conditional (`when` on a sibling) cannot be expressed on its own: either branch is accepted.
 */
function alternativesSchema(d: Described, report: Report, at: string): JsonSchema {
  const branches = (d.matches ?? []).flatMap((m) =>
    m.schema ? [m.schema] : [m.then, m.otherwise, ...(m.switch ?? []).flatMap((s) => [s.then, s.otherwise])].filter((b): b is Described => b !== undefined),
  );
  const schemas = branches.map((b, i) => convert(b, report, `${at}|${i}`));
  const keyword = d.flags?.match === 'one' ? 'oneOf' : d.flags?.match === 'all' ? 'allOf' : 'anyOf';
  return { [keyword]: schemas };
}

export type Ref = { $ref: string; description?: string };

export interface OpenApiParameter {
  name: string;
  in: 'path' | 'query';
  required: boolean;
  description?: string;
  schema: JsonSchema;
}

export interface OpenApiResponse {
  description: string;
  headers?: Record<string, Ref | { description: string; schema: JsonSchema }>;
  content?: Record<string, { schema: JsonSchema }>;
}

export interface OpenApiOperation {
  operationId: string;
  summary: string;
  tags: string[];
  /** `[]` on a public route: the document has no default security, every operation says its own. */
  security: Record<string, string[]>[];
  parameters?: OpenApiParameter[];
  requestBody?: { required: boolean; content: Record<string, { schema: JsonSchema }> };
  responses: Record<string, OpenApiResponse | Ref>;
}

export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string; description: string; license: { name: string } };
  servers: { url: string; description: string }[];
  tags: { name: string; description?: string }[];
  paths: Record<string, Partial<Record<HttpMethod, OpenApiOperation>>>;
  components: {
    schemas: Record<string, JsonSchema>;
    responses: Record<string, OpenApiResponse>;
    headers: Record<string, { description: string; schema: JsonSchema }>;
    securitySchemes: Record<string, { type: string; scheme: string; bearerFormat: string; description: string }>;
  };
}

const ERROR_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['error'],
  additionalProperties: false,
  properties: {
    error: {
      type: 'object',
      required: ['status', 'code', 'message'],
      additionalProperties: false,
      properties: {
        status: { type: 'integer', minimum: 400, maximum: 599, description: 'the HTTP status, repeated' },
        code: { type: 'string', description: 'a stable machine-readable code, e.g. validation_failed' },
        message: { type: 'string', description: 'a human-readable sentence' },
        details: { type: 'object', additionalProperties: { type: 'string' }, description: 'one message per failing field, e.g. "body.email"' },
      },
    },
  },
};

const REQUEST_ID: Ref = { $ref: '#/components/headers/RequestId' };
const isWrite = (spec: AnyRouteSpec) => spec.method !== 'get';
const hasPathParams = (spec: AnyRouteSpec) => /[:*]\w/.test(spec.path);

/**
 * The error answers shared by every route, and which routes may give each. The rules read only a
 * route's declaration, so they lean towards listing an error a route rarely gives over hiding one.
 */
const SHARED_ERRORS: Record<number, { name: string; description: string; applies: (spec: AnyRouteSpec) => boolean; retryAfter?: true }> = {
  400: { name: 'BadRequest', description: 'Malformed JSON, or input that fails validation (details name every failing field)', applies: () => true },
  401: { name: 'Unauthorized', description: 'No valid access token', applies: (s) => s.auth === 'user' },
  403: { name: 'Forbidden', description: 'The role held does not allow this action', applies: (s) => s.auth === 'user' && isWrite(s) },
  404: { name: 'NotFound', description: 'No such resource, or one of another tenant', applies: (s) => hasPathParams(s) || (s.auth === 'user' && isWrite(s)) },
  409: { name: 'Conflict', description: 'The request conflicts with the current state', applies: isWrite },
  413: { name: 'PayloadTooLarge', description: 'The body is over the size limit', applies: (s) => s.body !== undefined },
  429: { name: 'TooManyRequests', description: 'Over the rate limit (per user and per client address); Retry-After says when to try again', applies: () => true, retryAfter: true },
  500: { name: 'InternalError', description: 'An unexpected failure (no details are given)', applies: () => true },
};

/** What each route tag groups, shown with the tag; a tag missing here is listed without a description. */
const TAG_DESCRIPTIONS = new Map(Object.entries({
  health: 'Liveness and readiness probes, answered without a token',
  auth: 'Accounts and sessions: register, sign in, refresh and revoke tokens, and the signed-in user',
  'api-keys': 'Long-lived API keys, personal or an organization’s, sent as the bearer token in place of an access token',
  projects: 'Projects (personal or an organization’s) with their style, template and format, and uploads of the creator’s own media',
  channels: 'The YouTube, TikTok and Instagram channels a project publishes to, with their OAuth tokens and upload settings',
  templates: 'System and custom video templates: design, resolution, captions and duration',
  'data-sources': 'RSS, keyword, finance and YouTube sources that turn new items into draft contents on their schedule',
  organizations: 'Organizations, their members and roles, their logo and their own provider keys',
  billing: 'Plans, subscriptions and their credits, Stripe checkout, portal and webhook',
  usage: 'Provider calls and their estimated cost, per month or per content',
  contents: 'Contents: their script, production (generate, retry, cancel), approval, publishing, jobs and progress',
  steps: 'Single production steps run alone on a project: speech, captions or a render',
  webhooks: 'Endpoints that receive the platform’s events, signed as Standard Webhooks says, and their delivery log',
  notifications: 'Which events (content ready, failed, published; a webhook endpoint disabled) also come to the signed-in user by email',
  operator: 'The platform’s own state for its operators, such as the restore drills',
  review: 'A page to watch the videos awaiting approval and approve or reject them',
  docs: 'This OpenAPI document and a page rendered from it',
}));

/** `/contents/:id` → `/contents/{id}` (Express 5 also names wildcards `*name`). */
export function openApiPath(expressPath: string): string {
  return expressPath.replace(/[:*](\w+)/g, '{$1}');
}

function operationId(spec: AnyRouteSpec): string {
  const words = spec.path
    .split('/')
    .filter(Boolean)
    .flatMap((segment) => (/^[:*]/.test(segment) ? ['by', segment.slice(1)] : segment.split(/[^a-zA-Z0-9]+/)));
  return spec.method + words.map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('');
}

function parameters(spec: AnyRouteSpec, options: ConvertOptions): OpenApiParameter[] {
  const pathSchema = spec.params ? joiToJsonSchema(spec.params, options) : undefined;
  const inPath = [...spec.path.matchAll(/[:*](\w+)/g)].map(([, name]) => name!);
  const path = inPath.map((name): OpenApiParameter => ({ name, in: 'path', required: true, schema: pathSchema?.properties?.[name] ?? { type: 'string' } }));
  const querySchema = spec.query ? joiToJsonSchema(spec.query, options) : undefined;
  const query = Object.entries(querySchema?.properties ?? {}).map(
    ([name, schema]): OpenApiParameter => ({
      name,
      in: 'query',
      required: querySchema?.required?.includes(name) ?? false,
      ...(schema.description ? { description: schema.description } : {}),
      schema,
    }),
  );
  return [...path, ...query];
}

function responses(spec: AnyRouteSpec): Record<string, OpenApiResponse | Ref> {
  const out: Record<string, OpenApiResponse | Ref> = {};
  for (const [status, description] of Object.entries(spec.responses)) {
    const shared = SHARED_ERRORS[Number(status)];
    out[status] = shared ? { $ref: `#/components/responses/${shared.name}`, description } : { description, headers: { 'X-Request-Id': REQUEST_ID } };
  }
  for (const [status, shared] of Object.entries(SHARED_ERRORS)) {
    if (!(status in out) && shared.applies(spec)) out[status] = { $ref: `#/components/responses/${shared.name}` };
  }
  return out;
}

function operation(spec: AnyRouteSpec, options: ConvertOptions): OpenApiOperation {
  const op: OpenApiOperation = {
    operationId: operationId(spec),
    summary: spec.summary,
    tags: [spec.tag],
    security: spec.auth === 'user' ? [{ bearerAuth: [] }] : [],
    responses: responses(spec),
  };
  const params = parameters(spec, options);
  if (params.length > 0) op.parameters = params;
  if (spec.body) {
    const required = (spec.body.describe() as Described).flags?.presence === 'required';
    op.requestBody = { required, content: { 'application/json': { schema: joiToJsonSchema(spec.body, options) } } };
  }
  return op;
}

export function buildOpenApiDocument(routes: readonly AnyRouteSpec[], options: ConvertOptions = {}): OpenApiDocument {
  const paths: OpenApiDocument['paths'] = {};
  const tags: string[] = [];
  for (const spec of routes) {
    (paths[openApiPath(spec.path)] ??= {})[spec.method] = operation(spec, options);
    if (!tags.includes(spec.tag)) tags.push(spec.tag);
  }
  const errorResponses = Object.fromEntries(
    Object.values(SHARED_ERRORS).map(({ name, description, retryAfter }): [string, OpenApiResponse] => [
      name,
      {
        description,
        headers: { 'X-Request-Id': REQUEST_ID, ...(retryAfter ? { 'Retry-After': { description: 'seconds until the next window', schema: { type: 'integer', minimum: 1 } } } : {}) },
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      },
    ]),
  );
  return {
    openapi: '3.1.0',
    info: {
      title: 'AutoClip API',
      version,
      license: { name: license },
      description:
        'Projects, channels, data sources and contents of AutoClip, and the Temporal runs that produce and publish the videos. ' +
        'Send the access token as `Authorization: Bearer <token>`. Every response carries an `X-Request-Id`; every error has the shape of the `Error` schema.',
    },
    servers: [{ url: '/', description: 'the server this document is served by (every path is relative to it)' }],
    tags: tags.map((name) => {
      const description = TAG_DESCRIPTIONS.get(name);
      return description ? { name, description } : { name };
    }),
    paths,
    components: {
      schemas: { Error: ERROR_SCHEMA },
      responses: errorResponses,
      headers: { RequestId: { description: 'the request id: the client’s own when valid ([\\w-]{1,64}), else a new UUID', schema: { type: 'string' } } },
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'a short-lived access token from /auth/register, /auth/login or /auth/refresh, or an API key (`ak_…`) from POST /api-keys' },
      },
    },
  };
}
