/**
 * The folder of fonts libass reads besides the system's: the Noto fonts for Devanagari and Arabic,
 * which the local stack fetches into the user's cache (scripts/local-stack/fonts.ts) and names in
 * this variable. Unset (an image with fonts-noto-core installed), the system's fonts alone.
 */
export const FONTS_DIR_VARIABLE = 'AUTOCLIP_FONTS_DIR';

export function fontsDirFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dir = env[FONTS_DIR_VARIABLE]?.trim();
  return dir ? dir : undefined;
}
