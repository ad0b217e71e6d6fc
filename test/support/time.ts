export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms);
  });

/** An ISO instant `days` from now, as IdentityNow wants for removeDate (negative: in the past). */
export const future = (days = 30): string => new Date(Date.now() + days * 86_400_000).toISOString();

/** Polls `cond` every 50 ms until it holds; throws after `timeoutMs`. */
export async function waitUntil(
  what: string,
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}
