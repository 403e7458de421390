import Joi from 'joi';
import { DEFAULT_EMAIL_NOTIFICATIONS, EMAIL_NOTIFICATIONS, emailNotificationSettings, type EmailNotification } from '../../control/notification-settings';
import type { ApiDeps } from '../deps';
import { HttpError } from '../errors';
import { route, type AnyRouteSpec } from '../registry';

const switches = Object.fromEntries(
  EMAIL_NOTIFICATIONS.map((event) => [event, Joi.boolean().strict().description(`whether ${event} comes by email (default ${DEFAULT_EMAIL_NOTIFICATIONS[event]})`)]),
);

/**
 * Which events also come to the signed-in user by email (users.notification_settings,
 * control/notification-settings.ts). Notifications go only to a verified address.
 */
export function notificationSettingsRoutes({ ctx }: ApiDeps): AnyRouteSpec[] {
  const { User } = ctx.models;

  async function currentUser(userId: string) {
    const user = await User.findByPk(userId);
    if (!user) throw new HttpError(401, 'unauthenticated', 'the user of this token no longer exists');
    return user;
  }

  const answer = (user: { notification_settings: Record<string, boolean>; email_verified: boolean }) => ({
    notification_settings: emailNotificationSettings(user.notification_settings),
    email_verified: user.email_verified,
  });

  return [
    route({
      method: 'get',
      path: '/me/notification-settings',
      summary: 'Which events come to the signed-in user by email',
      tag: 'notifications',
      auth: 'user',
      responses: { 200: 'each event with its email switch (the default where none was set), and whether the address is verified' },
      handler: async (req, res) => {
        res.json(answer(await currentUser(req.auth!.userId)));
      },
    }),
    route<Record<string, never>, Record<string, never>, Partial<Record<EmailNotification, boolean>>>({
      method: 'patch',
      path: '/me/notification-settings',
      summary: 'Turn email notifications on or off by event; the events not named keep their switch',
      tag: 'notifications',
      auth: 'user',
      body: Joi.object(switches).min(1).required(),
      responses: { 200: 'the settings as they now are' },
      handler: async (req, res, { body }) => {
        const user = await currentUser(req.auth!.userId);
        await user.update({ notification_settings: { ...user.notification_settings, ...body } });
        res.json(answer(user));
      },
    }),
  ];
}
