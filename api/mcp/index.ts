import type { IncomingMessage, RequestListener } from 'node:http';
import express, { type RequestHandler, type Router } from 'express';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { version } from '../../package.json';
import { moduleLogger } from '../../lib/logger';
import { HttpError } from '../errors';
import { inProcessApi } from './in-process';
import { registerTools } from './tools';

const log = moduleLogger('mcp');

/**
 * The Model Context Protocol server at `/mcp` (Streamable HTTP, stateless): an AI agent lists
 * projects and templates, creates and produces contents, follows them to their video, approves or
 * rejects them, and reads usage and credits, with the access token or API key it would send to the
 * REST API. Each POST is authenticated and rate-limited like any route, then served by a server and
 * transport of its own, so no session outlives a request and any API process answers any message.
 *
 * The tools call the REST routes in process as the caller (in-process.ts) rather than sharing code
 * with them: a route's handler is where its tenancy, validation, credit rules and workflow start
 * live, and calling it keeps one copy of each. `/mcp` is not a REST route: the OpenAPI document
 * leaves it out.
 */
export function mcpRouter(app: RequestListener, authenticated: RequestHandler[]): Router {
  const apiAs = inProcessApi(app);
  const router = express.Router();
  router.post('/mcp', ...authenticated, async (req, res, next) => {
    const server = new McpServer({ name: 'autoclip', version });
    registerTools(server, apiAs(req));
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => {
      server.close().catch((err: unknown) => log.warn({ err, requestId: req.requestId }, 'mcp server did not close'));
    });
    try {
      await server.connect(transport);
      const incoming: IncomingMessage = req;
      await transport.handleRequest(incoming, res, req.body);
    } catch (err) {
      next(err);
    }
  });
  // Stateless: no stream to open with GET, no session to end with DELETE, nothing for other methods.
  router.all('/mcp', ...authenticated, (_req, res, next) => {
    res.setHeader('Allow', 'POST');
    next(new HttpError(405, 'method_not_allowed', 'send MCP messages with POST; this server keeps no sessions or streams'));
  });
  return router;
}
