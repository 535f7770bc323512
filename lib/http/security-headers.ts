// Headers on every response. The pages load only this daemon's own files
// (no inline script or style, no other origin), so the policy can refuse
// everything else: an injected script or style cannot run, the pages cannot
// be framed, and nothing leaves for another site, not even as a Referer.

import type { MiddlewareHandler } from 'hono';

/** The Content-Security-Policy of every response (JSON and text execute nothing, so one policy fits all). */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

/** Sets SECURITY_HEADERS on the response, whatever route (or error) made it. */
export const securityHeaders: MiddlewareHandler = async (c, next) => {
  await next();
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) c.res.headers.set(name, value);
};
