/**
 * The delays between reconnection attempts: exponential, with jitter, capped.
 */

/**
 * The delay before attempt `attempt` (from 0): `min * 2^attempt`, moved up or down at random
 * by up to `jitter` times itself (`random()` is from 0 to 1), then capped at `max`.
 */
export const backoff = (
  attempt: number,
  min: number,
  max: number,
  jitter: number,
  random: () => number = Math.random,
): number => {
  const ms = min * 2 ** Math.min(attempt, 52);
  return Math.min(max, ms * (1 + jitter * (2 * random() - 1)));
};
