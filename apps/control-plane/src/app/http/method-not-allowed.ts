import { type OpenAPIObject } from '@nestjs/swagger';
import { type NextFunction, type Request, type Response } from 'express';

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

/**
 * 405 with `Allow` for a method the document does not list on a path it does (RFC 9110 §15.5.6),
 * where Express would answer 404 as if the resource did not exist. HEAD goes with GET.
 */
export function methodNotAllowed(doc: OpenAPIObject) {
  const routes = Object.entries(doc.paths).map(([path, item]) => {
    const allowed = METHODS.filter((m) => item[m]).map((m) => m.toUpperCase());
    if (allowed.includes('GET')) allowed.push('HEAD');
    // `{path}` and `{mime}` are Express wildcards (several segments); other parameters one segment
    const pattern = path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{(path|mime)\}/g, '.+').replace(/\{[^}]+\}/g, '[^/]+');
    return { match: new RegExp(`^${pattern}/?$`), allowed };
  });
  return (req: Request, res: Response, next: NextFunction): void => {
    // every route the path matches: /judge0/submissions/batch is also /judge0/submissions/{token}
    const allowed = [...new Set(routes.filter((r) => r.match.test(req.path)).flatMap((r) => r.allowed))];
    if (allowed.length === 0 || allowed.includes(req.method)) return next();
    res
      .status(405)
      .set('Allow', allowed.join(', '))
      .json({ error: { code: 'method_not_allowed', message: `${req.method} is not allowed on ${req.path}: use ${allowed.join(', ')}`, details: [] } });
  };
}
