/**
 * Waits for `work`, but no longer than `ms`: for shutdown steps that must not hang on a peer that
 * does not answer (what is left is ended by a later stage). Never rejects; the timer is cleared.
 */
export async function waitAtMost(ms: number, work: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work.then(() => undefined, () => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
