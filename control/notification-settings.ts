import type { NotificationSettings } from '../db/models';

/**
 * users.notification_settings (seed §3.1.1, JSONB): for each event that can also come by email, a
 * switch saying whether it does: `{ "content.ready": true, "content.failed": true,
 * "content.published": false, "webhook.disabled": true }`. A key that is missing takes its default
 * below, so `{}` (the column's default) means "the defaults"; keys of other events are left as
 * they are and ignored here.
 */
export const EMAIL_NOTIFICATIONS = ['content.ready', 'content.failed', 'content.published', 'webhook.disabled'] as const;
export type EmailNotification = (typeof EMAIL_NOTIFICATIONS)[number];

/** What asks for a person's attention is on; publications, routine once a project publishes by itself, are off. */
export const DEFAULT_EMAIL_NOTIFICATIONS: Readonly<Record<EmailNotification, boolean>> = {
  'content.ready': true,
  'content.failed': true,
  'content.published': false,
  'webhook.disabled': true,
};

export function isEmailNotification(type: string): type is EmailNotification {
  return (EMAIL_NOTIFICATIONS as readonly string[]).includes(type);
}

/** Every email notification's switch for this user: the stored ones over the defaults. */
export function emailNotificationSettings(stored: NotificationSettings | null | undefined): Record<EmailNotification, boolean> {
  const settings = { ...DEFAULT_EMAIL_NOTIFICATIONS };
  for (const event of EMAIL_NOTIFICATIONS) {
    const value = stored?.[event];
    if (typeof value === 'boolean') settings[event] = value;
  }
  return settings;
}

/** Whether this event comes to the user by email. */
export function wantsEmail(stored: NotificationSettings | null | undefined, event: EmailNotification): boolean {
  return emailNotificationSettings(stored)[event];
}
