/** The name of the projection holding handler cursors. */
export const DELIVERIES_PROJECTION = 'deliveries';

/** A handler's cursor: the last message seq it is done with, how many it gave up on, and when. */
export interface DeliveryCursor {
  readonly seq: number;
  readonly failed: number;
  /** The seq of the delivery event. */
  readonly at: number;
}

/** The projection key of a capsule handler's cursor. */
export function deliveryKey(capsuleId: string, handler: string): string {
  return `${capsuleId}/${handler}`;
}
