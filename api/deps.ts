import type { AppContext } from '../control/app-context';
import type { SecretBox } from '../lib/secrets';
import type { RefreshTokens } from '../db/sessions';

/** What route handlers use: the process's connections, the token store, the secret box. */
export interface ApiDeps {
  ctx: AppContext;
  refreshTokens: RefreshTokens;
  box: SecretBox;
}
