/**
 * The package's root directory as a URL. This file sits two levels below the root (src/util/), and
 * so does every esbuild output (dist/<target>/*.js), so the same relative URL works in both.
 */
export const packageRoot: URL = new URL('../../', import.meta.url);
