import { emailNotificationSettings } from '../control/notification-settings';
import type { User } from '../db/models';

/**
 * What the API shows of each row. Explicit field lists (not toJSON) so that a new secret column is
 * never exposed by accident.
 */
export function serializeUser(user: User) {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    avatar_url: user.avatar_url,
    phone: user.phone,
    status: user.status,
    email_verified: user.email_verified,
    locale: user.locale,
    timezone: user.timezone,
    notification_settings: emailNotificationSettings(user.notification_settings),
    last_login_at: user.last_login_at,
    created_at: user.created_at,
    updated_at: user.updated_at,
  };
}
