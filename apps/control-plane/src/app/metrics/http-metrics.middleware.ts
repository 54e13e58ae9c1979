import { type NextFunction, type Request, type Response } from 'express';
import { type ControlPlaneMetrics } from './control-plane.metrics';

/** Times every request by its route template (bounded labels: never the raw path with its ids). */
export function httpMetrics(metrics: ControlPlaneMetrics) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const end = metrics.httpDuration.startTimer({ method: req.method });
    res.once('finish', () => {
      const route = req.route?.path ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
      end({ route, status_code: String(res.statusCode) });
    });
    next();
  };
}
