import { Injectable } from '@nestjs/common';

/**
 * Told whenever a request's pairs changed (their outcome, IdentityNow's state of them, or the request
 * closed): the one place that turns a change into what follows it (webhooks).
 */
@Injectable()
export class RequestEvents {
  async changed(trackingIds: readonly string[]): Promise<void> {
    await Promise.resolve(trackingIds);
  }
}
