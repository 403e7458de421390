/**
 * Live progress of a content's production travels on one Redis pub/sub channel per content:
 * the worker's recording interceptor publishes, the API's Server-Sent Events stream subscribes.
 */
export function progressChannel(contentId: string): string {
  return `content:${contentId}:progress`;
}
