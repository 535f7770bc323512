// The mesh as npcli mesh, /mesh and /api/mesh show it, from what readMesh
// found: the same JSON and text in all three places.

import { validateLabelName } from '../labels.js';
import {
  buildMatrix,
  groupMatrix,
  renderGroupedText,
  renderMeshText,
  type GroupedMatrix,
  type MeshMatrix,
} from './matrix.js';
import type { MeshState } from './read.js';

export interface MeshViewOptions {
  /** A label name to collapse instances by; undefined: instance by instance. */
  readonly groupBy?: string | undefined;
  readonly windowMs: number;
}

export function meshJson(state: MeshState, o: MeshViewOptions): MeshMatrix | GroupedMatrix {
  return o.groupBy === undefined
    ? buildMatrix(state.registrations, state.summaries)
    : groupMatrix(state.registrations, state.summaries, validateLabelName(o.groupBy));
}

export function meshText(state: MeshState, o: MeshViewOptions): string {
  const windowS = Math.round(o.windowMs / 1000);
  const text =
    o.groupBy === undefined
      ? renderMeshText(buildMatrix(state.registrations, state.summaries), windowS)
      : renderGroupedText(
          groupMatrix(state.registrations, state.summaries, validateLabelName(o.groupBy)),
          windowS,
        );
  const skipped = state.skipped.map((why) => `skipped an entry: ${why}\n`).join('');
  return text + skipped;
}
