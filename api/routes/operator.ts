import Joi from 'joi';
import type { ApiDeps } from '../deps';
import { HttpError } from '../errors';
import { route, type AnyRouteSpec } from '../registry';

/**
 * The platform's own state for its operators (OPERATOR_EMAILS), signed in as themselves: an API
 * key, even theirs, is refused, and everyone else gets 403.
 */
export function operatorRoutes({ ctx }: ApiDeps): AnyRouteSpec[] {
  async function requireOperator(userId: string, viaApiKey: boolean): Promise<void> {
    const user = viaApiKey ? null : await ctx.models.User.findByPk(userId, { attributes: ['email'] });
    if (!user || !ctx.config.operatorEmails.includes(user.email.toLowerCase())) {
      throw new HttpError(403, 'forbidden', "only the platform's operators, signed in, may read this");
    }
  }

  return [
    route({
      method: 'get',
      path: '/operator/recovery-drills',
      summary: 'The latest restore drills (seed §7.2): status, RPO, RTO, tables verified, the backup restored',
      tag: 'operator',
      auth: 'user',
      query: Joi.object<{ limit: number }>({ limit: Joi.number().integer().min(1).max(100).default(10) }),
      responses: { 200: '{ drills }: newest first' },
      handler: async (req, res, { query }) => {
        await requireOperator(req.auth!.userId, Boolean(req.auth!.apiKey));
        const drills = await ctx.db.recoveryDrills.latest(query.limit);
        res.json({ drills });
      },
    }),
  ];
}
