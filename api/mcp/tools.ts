import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { CONTENT_FORMATS, PROJECT_STATUSES, VERTICALS } from '../../db/models';
import { moduleLogger } from '../../lib/logger';
import type { ApiAnswer, CallApi } from './in-process';

/**
 * The MCP tools: each one is the REST route (or routes) it names, called as the caller through
 * `CallApi`, so a tool checks, refuses, charges and starts exactly what the route does. The
 * arguments' schemas give their types (a refused type or an unknown argument is a tool error naming
 * it); the route's own validation does the rest, and its 400 comes back as a tool error whose
 * details are keyed by argument name. Every result is JSON text; every error, the API's error
 * object with `isError`.
 */

const log = moduleLogger('mcp');

interface ApiError {
  status: number;
  code: string;
  message: string;
  details?: Record<string, string>;
}

function json(value: unknown): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(value) }] };
}

function toolError(error: ApiError): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify({ error }) }], isError: true };
}

/** A route's error as a tool error; its details name the tool's arguments (`body.topic` → `topic`). */
function refused(answer: ApiAnswer): CallToolResult {
  const error = (answer.body as { error?: ApiError } | null)?.error;
  if (!error) return toolError({ status: answer.status, code: 'error', message: `the API answered ${answer.status}` });
  const details = error.details && Object.fromEntries(Object.entries(error.details).map(([field, why]) => [field.replace(/^(body|query)\./, ''), why]));
  return toolError({ status: error.status, code: error.code, message: error.message, ...(details ? { details } : {}) });
}

/** The route's body as the tool's result, or its error. */
function answered(answer: ApiAnswer): CallToolResult {
  return answer.status < 400 ? json(answer.body) : refused(answer);
}

/** A path with the query parameters that are set. */
function withQuery(path: string, query: Record<string, string | number | undefined>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value !== undefined) params.set(name, String(value));
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

/** Runs a tool; anything it throws becomes a plain internal error (logged), never the error's own text. */
function guarded<A>(tool: string, run: (args: A) => Promise<CallToolResult>): (args: A) => Promise<CallToolResult> {
  return async (args) => {
    try {
      return await run(args);
    } catch (err) {
      log.error({ err, tool }, 'mcp tool failed');
      return toolError({ status: 500, code: 'internal_error', message: 'internal error' });
    }
  };
}

const READ = { readOnlyHint: true, openWorldHint: false } as const;
const WRITE = { readOnlyHint: false, destructiveHint: false, openWorldHint: false } as const;

const id = (what: string) => z.guid().describe(`the ${what}'s id`);
const organizationId = z.guid().optional().describe("an organization's id: its resources instead of your personal ones");
const month = z.string().optional().describe('a UTC month, YYYY-MM');

export function registerTools(server: McpServer, api: CallApi): void {
  server.registerTool(
    'list_projects',
    {
      description: 'Your personal projects, or an organization\'s (organization_id), newest first, a page at a time (GET /projects).',
      inputSchema: z.strictObject({
        organization_id: organizationId,
        status: z.enum(PROJECT_STATUSES).optional(),
        vertical: z.enum(VERTICALS).optional(),
        limit: z.number().int().optional().describe('1 to 100, 20 by default'),
        cursor: z.string().optional().describe('next_cursor of the previous page'),
      }),
      annotations: READ,
    },
    guarded('list_projects', async (args) => answered(await api('GET', withQuery('/projects', args)))),
  );

  server.registerTool(
    'list_templates',
    {
      description:
        "The video templates you may use: the system's, your own and your organizations'; each marked `available` for the plan (GET /templates).",
      inputSchema: z.strictObject({ format: z.enum(CONTENT_FORMATS).optional(), vertical: z.enum(VERTICALS).optional(), organization_id: organizationId }),
      annotations: READ,
    },
    guarded('list_templates', async (args) => answered(await api('GET', withQuery('/templates', args)))),
  );

  server.registerTool(
    'create_content',
    {
      description: 'Create a draft content in a project from a topic, which is also its title (POST /projects/:projectId/contents). Then generate_content produces it.',
      inputSchema: z.strictObject({
        project_id: id('project'),
        topic: z.string().describe('what the video is about, at most 200 characters'),
        description: z.string().optional(),
        tags: z.array(z.string()).optional(),
      }),
      annotations: WRITE,
    },
    guarded('create_content', async ({ project_id, ...body }) => answered(await api('POST', `/projects/${project_id}/contents`, body))),
  );

  server.registerTool(
    'generate_content',
    {
      description:
        'Start producing a draft content: script, safety check, voice, pictures, render; one credit (POST /contents/:id/generate). ' +
        'A production already running is answered, not started twice. Follow it with get_content.',
      inputSchema: z.strictObject({
        content_id: id('content'),
        approval_timeout_hours: z.number().int().optional().describe('how long a ready video waits for approval when the project has channels (1 to 720)'),
      }),
      annotations: WRITE,
    },
    guarded('generate_content', async ({ content_id, ...body }) => answered(await api('POST', `/contents/${content_id}/generate`, body))),
  );

  server.registerTool(
    'get_content',
    {
      description:
        'A content and its production: status, step, percent done, error, jobs (GET /contents/:id and /contents/:id/progress); ' +
        'once rendered, video_url and thumbnail_url are links valid one hour (links_expire_at). ' +
        'progress.step is awaiting_approval when the video waits for approve_content or reject_content.',
      inputSchema: z.strictObject({ content_id: id('content') }),
      annotations: READ,
    },
    guarded('get_content', async ({ content_id }) => {
      const read = await api('GET', `/contents/${content_id}`);
      if (read.status !== 200) return refused(read);
      const progress = await api('GET', `/contents/${content_id}/progress`);
      if (progress.status !== 200) return refused(progress);
      const { content } = read.body as { content: unknown };
      const { progress: state } = progress.body as { progress: unknown };
      return json({ content, progress: state });
    }),
  );

  server.registerTool(
    'approve_content',
    {
      description:
        "Approve a video awaiting approval: publish it to the project's channels (or channel_ids), now or at scheduled_at (POST /contents/:id/approve).",
      inputSchema: z.strictObject({
        content_id: id('content'),
        scheduled_at: z.string().optional().describe('when to publish, RFC 3339 (e.g. 2030-01-31T09:00:00Z), in the future and within a year; now when left out'),
        channel_ids: z.array(z.guid()).optional().describe("channels of the content's project; all of them when left out"),
      }),
      annotations: WRITE,
    },
    guarded('approve_content', async ({ content_id, ...body }) => answered(await api('POST', `/contents/${content_id}/approve`, body))),
  );

  server.registerTool(
    'reject_content',
    {
      description: 'Reject a video awaiting approval: it stays ready and is not published (POST /contents/:id/reject).',
      inputSchema: z.strictObject({ content_id: id('content'), reason: z.string().optional().describe('why, at most 1000 characters') }),
      annotations: WRITE,
    },
    guarded('reject_content', async ({ content_id, ...body }) => answered(await api('POST', `/contents/${content_id}/reject`, body))),
  );

  server.registerTool(
    'get_usage',
    {
      description:
        "Provider calls and their estimated cost in USD: one content's per service (content_id, GET /contents/:id/usage), " +
        'or yours or an organization\'s per UTC month, service and operation (GET /usage; from and to as YYYY-MM, the last 12 months by default).',
      inputSchema: z
        .strictObject({ content_id: id('content').optional(), organization_id: organizationId, from: month, to: month })
        .superRefine((args, check) => {
          if (args.content_id === undefined) return;
          for (const name of ['organization_id', 'from', 'to'] as const) {
            if (args[name] !== undefined) check.addIssue({ code: 'custom', path: [name], message: `${name} is not accepted with content_id` });
          }
        }),
      annotations: READ,
    },
    guarded('get_usage', async ({ content_id, ...query }) =>
      answered(await api('GET', content_id ? `/contents/${content_id}/usage` : withQuery('/usage', query))),
    ),
  );

  server.registerTool(
    'get_credits',
    {
      description:
        "Credits left to produce videos (each production takes one from the active subscription of the content's owner), " +
        "with your subscriptions or an organization's (GET /subscriptions).",
      inputSchema: z.strictObject({ organization_id: organizationId }),
      annotations: READ,
    },
    guarded('get_credits', async (args) => {
      const answer = await api('GET', withQuery('/subscriptions', args));
      if (answer.status !== 200) return refused(answer);
      const { items } = answer.body as { items: { status: string; credits_remaining: number }[] };
      const active = items.filter((s) => s.status === 'active');
      return json({ credits_remaining: active.reduce((sum, s) => sum + s.credits_remaining, 0), subscriptions: items });
    }),
  );
}
