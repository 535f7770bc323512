import { allProbeKinds } from './kinds.js';
import type { Prober, ProberContext } from './prober.js';

/**
 * Opens every kind's prober. A failure to open one (no privilege for raw
 * sockets) fails the whole: the daemon should not start half blind.
 */
export async function openProbers(ctx: ProberContext): Promise<Record<string, Prober>> {
  const probers: Record<string, Prober> = {};
  try {
    for (const kind of allProbeKinds()) {
      // A kind with its own runner has no prober for the engine.
      if (kind.open) probers[kind.name] = await kind.open(ctx);
    }
  } catch (err) {
    for (const prober of Object.values(probers)) prober.close();
    throw err;
  }
  return probers;
}
