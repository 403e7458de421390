import { createHash } from 'node:crypto';
import { buildOpenApiDocument, type JsonSchema, type OpenApiDocument, type OpenApiOperation, type OpenApiParameter, type OpenApiResponse, type Ref } from '../openapi';
import { route, type AnyRouteSpec } from '../registry';

/**
 * `GET /openapi.json` and `GET /docs`: the OpenAPI document of every route, and a page rendered
 * from it on the server. The page loads nothing (no script, no CDN, no font): one inline style
 * block, allowed by its hash, so the strict global CSP is only widened by that one style.
 *
 * `routes` is called on the first request (the list includes these two routes, so it cannot be
 * built while they are being declared); the route list is fixed once the app is built.
 */
export function docsRoutes(routes: () => readonly AnyRouteSpec[]): AnyRouteSpec[] {
  let document: OpenApiDocument | undefined;
  let page: string | undefined;
  const openApi = () => (document ??= buildOpenApiDocument(routes()));

  return [
    route({
      method: 'get',
      path: '/openapi.json',
      summary: 'The OpenAPI 3.1 document of every route',
      tag: 'docs',
      auth: 'public',
      responses: { 200: 'the OpenAPI document' },
      handler: (_req, res) => {
        res.json(openApi());
      },
    }),
    route({
      method: 'get',
      path: '/docs',
      summary: 'A readable page of the OpenAPI document',
      tag: 'docs',
      auth: 'public',
      responses: { 200: 'an HTML page' },
      handler: (_req, res) => {
        page ??= renderDocsPage(openApi());
        res.setHeader('Content-Security-Policy', DOCS_CSP);
        res.type('html').send(page);
      },
    }),
  ];
}

const STYLE = `
:root{color-scheme:light;--ink:#1f2328;--muted:#59636e;--line:#d1d9e0;--soft:#f6f8fa;--accent:#0f766e}
*{box-sizing:border-box}body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI","Noto Sans",sans-serif;color:var(--ink);background:#fff}
header{padding:28px 40px 18px;border-bottom:1px solid var(--line);background:var(--soft)}h1{margin:0 0 4px;font-size:26px}h1 small{font-size:14px;color:var(--muted);font-weight:400;margin-left:8px}
header p{margin:6px 0;max-width:70em;color:var(--muted)}nav{margin-top:12px;display:flex;flex-wrap:wrap;gap:6px}
nav a{padding:2px 10px;border:1px solid var(--line);border-radius:999px;background:#fff;color:var(--ink);text-decoration:none;font-size:13px}nav a:hover{border-color:var(--accent)}
main{padding:8px 40px 40px;max-width:1200px}h2{margin:32px 0 8px;font-size:20px;text-transform:capitalize;border-bottom:2px solid var(--accent);padding-bottom:4px}
.op{border:1px solid var(--line);border-radius:8px;margin:14px 0;padding:12px 16px}.op h3{margin:0;font-size:16px;display:flex;align-items:center;gap:10px;flex-wrap:wrap}
.method{display:inline-block;min-width:64px;text-align:center;border-radius:4px;padding:1px 8px;color:#fff;font:600 12px/20px ui-monospace,monospace}
.get{background:#1f6feb}.post{background:#1a7f37}.put{background:#9a6700}.patch{background:#8250df}.delete{background:#cf222e}
code{font:13px ui-monospace,SFMono-Regular,Menlo,monospace;background:var(--soft);padding:1px 5px;border-radius:4px}h3 code{font-size:15px;background:none;padding:0}
.auth{margin-left:auto;font-size:12px;font-weight:500;border-radius:4px;padding:1px 8px;border:1px solid var(--line);color:var(--muted)}.auth.user{border-color:#d4a72c;color:#7d4e00;background:#fff8c5}
.summary{margin:6px 0 4px}h4{margin:12px 0 4px;font-size:13px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted)}
table{border-collapse:collapse;width:100%;font-size:14px;table-layout:fixed}.c-name,.c-field{width:28%}.c-in{width:8%}.c-type{width:30%}.c-response{width:18%}
td{overflow-wrap:anywhere}th,td{text-align:left;vertical-align:top;border-top:1px solid var(--line);padding:4px 8px}th{font-weight:600;background:var(--soft)}
td.name{white-space:nowrap}.req{color:#cf222e;font-size:12px}.note{color:var(--muted);font-size:13px;margin:2px 0}
ul.responses{list-style:none;margin:0;padding:0}ul.responses li{margin:2px 0}.status{display:inline-block;min-width:40px;font:600 13px ui-monospace,monospace}
.s2{color:#1a7f37}.s4,.s5{color:#cf222e}.errors .status{min-width:0;margin-right:6px;border-bottom:1px dotted var(--muted);cursor:help}
`;

const DOCS_CSP = `default-src 'none'; style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'`;

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const esc = (value: unknown): string => String(value).replace(/[&<>"']/g, (c) => ESCAPES[c]!);
/** The document's prose marks code with backticks. */
const prose = (text: string): string => esc(text).replace(/`([^`]+)`/g, '<code>$1</code>');
const literal = (value: unknown): string => `<code>${esc(JSON.stringify(value))}</code>`;

function typeOf(schema: JsonSchema): string {
  if (schema.$ref) return esc(schema.$ref.split('/').pop());
  if (schema.enum) return `one of ${schema.enum.map(literal).join(', ')}`;
  const branches = schema.anyOf ?? schema.oneOf;
  if (branches) return branches.map(typeOf).join(' or ');
  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  if (types.length === 0) return 'any';
  return types
    .map((type) => {
      if (type === 'array') return `array of ${schema.items ? typeOf(schema.items) : 'nothing'}`;
      return schema.format && type !== 'null' ? `${type} (${esc(schema.format)})` : type;
    })
    .join(' or ');
}

function range(min: number | undefined, max: number | undefined, unit: string): string | undefined {
  if (min !== undefined && max !== undefined) return min === max ? `exactly ${min}${unit}` : `${min}–${max}${unit}`;
  if (max !== undefined) return `at most ${max}${unit}`;
  if (min === 1 && unit === ' chars') return 'not empty';
  return min !== undefined ? `at least ${min}${unit}` : undefined;
}

function rulesOf(schema: JsonSchema): string {
  const rules = [
    schema.description ? esc(schema.description) : undefined,
    range(schema.minLength, schema.maxLength, ' chars'),
    range(schema.minimum, schema.maximum, ''),
    schema.exclusiveMinimum !== undefined ? `&gt; ${schema.exclusiveMinimum}` : undefined,
    schema.exclusiveMaximum !== undefined ? `&lt; ${schema.exclusiveMaximum}` : undefined,
    schema.pattern ? `matches <code>${esc(schema.pattern)}</code>` : undefined,
    range(schema.minItems, schema.maxItems, ' items'),
    schema.uniqueItems ? 'no duplicates' : undefined,
    schema.not?.enum ? `not ${schema.not.enum.map(literal).join(', ')}` : undefined,
    schema.default !== undefined ? `default ${literal(schema.default)}` : undefined,
    ...(schema.anyOf ?? schema.oneOf ?? []).map(rulesOf),
  ];
  return rules.filter(Boolean).join('; ');
}

interface FieldRow {
  name: string;
  schema: JsonSchema;
  required: boolean;
}

/** An object's fields, nested objects and arrays of objects flattened to `a.b` and `a[].b`. */
function fieldRows(schema: JsonSchema, prefix = ''): FieldRow[] {
  return Object.entries(schema.properties ?? {}).flatMap(([key, child]) => {
    const name = `${prefix}${key}`;
    const nested = child.properties ? fieldRows(child, `${name}.`) : child.items && child.items.properties ? fieldRows(child.items, `${name}[].`) : [];
    return [{ name, schema: child, required: schema.required?.includes(key) ?? false }, ...nested];
  });
}

/** The relations between an object's fields (Joi's or/xor/with), in words. */
function relationsOf(schema: JsonSchema): string[] {
  const names = (branches: JsonSchema[]) => branches.flatMap((b) => b.required ?? []).map((n) => `<code>${esc(n)}</code>`).join(', ');
  const onlyRequired = (branches: JsonSchema[] | undefined) => branches?.every((b) => Object.keys(b).join() === 'required');
  return [schema, ...(schema.allOf ?? [])].flatMap((part) => [
    ...(onlyRequired(part.anyOf) ? [`at least one of ${names(part.anyOf!)}`] : []),
    ...(onlyRequired(part.oneOf) ? [`exactly one of ${names(part.oneOf!)}`] : []),
    ...Object.entries(part.dependentRequired ?? {}).map(([key, peers]) => `<code>${esc(key)}</code> needs ${peers.map((p) => `<code>${esc(p)}</code>`).join(', ')}`),
  ]);
}

/** Columns sized by class (a CSP hash covers the style block, not style attributes). */
const table = (head: string[], rows: string[][]): string =>
  `<table><colgroup>${head.map((h) => `<col class="c-${h.toLowerCase()}">`).join('')}</colgroup><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c, i) => `<td${i === 0 ? ' class="name"' : ''}>${c}</td>`).join('')}</tr>`).join('')}</tbody></table>`;

const fieldName = (name: string, required: boolean) => `<code>${esc(name)}</code>${required ? ' <span class="req">required</span>' : ''}`;

function parametersHtml(parameters: OpenApiParameter[] | undefined): string {
  if (!parameters?.length) return '';
  return `<h4>Parameters</h4>${table(
    ['Name', 'In', 'Type', 'Rules'],
    parameters.map((p) => [fieldName(p.name, p.required), p.in, typeOf(p.schema), rulesOf({ ...p.schema, description: p.description ?? p.schema.description })]),
  )}`;
}

function bodyHtml(op: OpenApiOperation): string {
  const body = op.requestBody;
  const schema = body?.content['application/json']?.schema;
  if (!body || !schema) return '';
  const rows = fieldRows(schema);
  const notes = [body.required ? 'JSON, required' : 'JSON, optional', ...relationsOf(schema), ...(schema.additionalProperties === false ? ['no other fields'] : [])];
  const fields = rows.length > 0 ? table(['Field', 'Type', 'Rules'], rows.map((r) => [fieldName(r.name, r.required), typeOf(r.schema), rulesOf(r.schema)])) : `<p>${typeOf(schema)}</p>`;
  return `<h4>Body</h4><p class="note">${notes.join(' · ')}</p>${fields}`;
}

function responsesHtml(doc: OpenApiDocument, op: OpenApiOperation): string {
  // A route's own words for a shared error win over the shared description.
  const resolve = (r: OpenApiResponse | Ref): string => r.description ?? ('$ref' in r ? doc.components.responses[r.$ref.split('/').pop()!]?.description : undefined) ?? '';
  const entries = Object.entries(op.responses);
  const own = entries.filter(([status, r]) => Number(status) < 400 || !('$ref' in r) || r.description);
  const shared = entries.filter((entry) => !own.includes(entry));
  const item = ([status, r]: [string, OpenApiResponse | Ref]) => `<li><span class="status s${status[0]}">${esc(status)}</span> ${prose(resolve(r))}</li>`;
  const errors = shared.map(([status, r]) => `<span class="status" title="${esc(resolve(r))}">${esc(status)}</span>`).join('');
  return `<h4>Responses</h4><ul class="responses">${own.map(item).join('')}${errors ? `<li class="errors note">errors: ${errors}</li>` : ''}</ul>`;
}

function operationHtml(doc: OpenApiDocument, path: string, method: string, op: OpenApiOperation): string {
  const auth = op.security?.length ? '<span class="auth user">bearer token</span>' : '<span class="auth">public</span>';
  return `<article class="op" id="${esc(op.operationId)}"><h3><span class="method ${esc(method)}">${esc(method.toUpperCase())}</span><code>${esc(path)}</code>${auth}</h3>
<p class="summary">${prose(op.summary)}</p>${parametersHtml(op.parameters)}${bodyHtml(op)}${responsesHtml(doc, op)}</article>`;
}

function errorsSection(doc: OpenApiDocument): string {
  const rows = Object.entries(doc.components.responses).map(([name, r]) => [esc(name), prose(r.description)]);
  return `<section id="errors"><h2>Errors</h2><p>Every error answers <code>{"error": {"status", "code", "message", "details"?}}</code>; <code>details</code> names each failing field (e.g. <code>body.email</code>). No error carries a stack trace.</p>${table(['Response', 'When'], rows)}</section>`;
}

function renderDocsPage(doc: OpenApiDocument): string {
  const operations = Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ path, method, op })));
  const sections = doc.tags.map(({ name }) => {
    const ops = operations.filter(({ op }) => op.tags.includes(name));
    return `<section id="tag-${esc(name)}"><h2>${esc(name)}</h2>${ops.map(({ path, method, op }) => operationHtml(doc, path, method, op)).join('\n')}</section>`;
  });
  const nav = doc.tags.map(({ name }) => `<a href="#tag-${esc(name)}">${esc(name)} (${operations.filter(({ op }) => op.tags.includes(name)).length})</a>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(doc.info.title)}</title><style>${STYLE}</style></head>
<body><header><h1>${esc(doc.info.title)}<small>v${esc(doc.info.version)} · OpenAPI ${esc(doc.openapi)}</small></h1>
<p>${prose(doc.info.description)}</p><p><a href="/openapi.json">openapi.json</a> · ${operations.length} operations</p>
<nav>${nav}<a href="#errors">errors</a></nav></header>
<main>${sections.join('\n')}${errorsSection(doc)}</main></body></html>`;
}
