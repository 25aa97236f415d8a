import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';

// One access-log line per request, written when the response is finished: method, URL (its
// secret query values redacted by the serializer), client address, status and response time.
// Fastify's default is two lines (one on arrival, one on completion); each pino line costs about
// half of what bare Fastify spends on a whole request, so the arrival line is kept for `debug`
// only, where it shows a request that has not finished yet (a hang, or one in flight at shutdown).

export class AccessLogController extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    if (this.isLogDisabled(request)) return;
    request.log.debug({ req: request }, 'incoming request');
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return;
    if (error) request.log.error({ req: request, res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored');
    else request.log.info({ req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed');
  }
}
