// The safety envelope as people read it (README "Safety envelope"): only the axes an operator
// narrowed, each {min, max}; every other axis keeps its mechanical range. Used by the settings
// page's configured value and the live status panel, so neither repeats the mechanical ranges.
// Pure. Does not validate (src/safety/safety-policy.ts `envelopeFrom` does) nor check calls
// (src/safety/envelope-check.ts).
import { ENVELOPE_AXES, MECHANICAL_RANGES, type AxisRange, type Envelope, type EnvelopeAxis } from './safety-policy.ts';

/** The axes of `envelope` that differ from the mechanical ranges ({} when it is the mechanical envelope). */
export function narrowedAxes(envelope: Envelope): Partial<Record<EnvelopeAxis, AxisRange>> {
  const out: Partial<Record<EnvelopeAxis, AxisRange>> = {};
  for (const axis of ENVELOPE_AXES) {
    const range = envelope[axis];
    if (range.min !== MECHANICAL_RANGES[axis].min || range.max !== MECHANICAL_RANGES[axis].max) out[axis] = { min: range.min, max: range.max };
  }
  return out;
}
