// `npcli --redis … stats`: one table per instance, each headed by the
// instance and how old its save is (a dead instance's statistics stay in
// Redis; their age says so).

import type { SavedReport } from '../lib/saved-report.js';
import { printable } from '../lib/render/printable.js';
import { renderStats } from './render.js';

export function renderSavedStats(
  saved: readonly SavedReport[],
  opts: { wide: boolean; now: number },
): string {
  return saved
    .map((s) => {
      const age =
        s.savedAt === undefined
          ? 'nothing saved'
          : `saved ${Math.max(0, Math.round((opts.now - s.savedAt) / 1000))} s ago`;
      const head =
        s.group === undefined
          ? `instance ${printable(s.instance)}`
          : s.owner === undefined
            ? `group ${printable(s.group)}, no live member (owner: none)`
            : `group ${printable(s.group)}, owner ${printable(s.owner)}`;
      return `${head} (${age})\n${renderStats(s.report, { wide: opts.wide })}`;
    })
    .join('\n\n');
}
