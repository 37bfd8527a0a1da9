// The little SDP knowledge the producers need to speak gst-webrtc-signalling v1, whose ICE
// messages carry `sdpMLineIndex` but no mid (reachy-daemon-api.md §9.2), while node-datachannel
// works with mids: the mid of each m-line in order, and the `candidate:` form of a candidate line
// (node-datachannel prefixes `a=`; webrtcbin and browsers send it bare). Owns no SDP rewriting.

/** The `a=mid:` of each m-section, in m-line order (null where a section has none). */
export function sdpMids(sdp: string): (string | null)[] {
  const mids: (string | null)[] = [];
  for (const line of sdp.split(/\r?\n/)) {
    if (line.startsWith('m=')) mids.push(null);
    else if (line.startsWith('a=mid:') && mids.length > 0) mids[mids.length - 1] = line.slice('a=mid:'.length).trim();
  }
  return mids;
}

/** The m-line index of `mid` (0 when unknown: with BUNDLE every section shares one transport). */
export function mLineIndexOf(sdp: string, mid: string): number {
  const index = sdpMids(sdp).indexOf(mid);
  return index < 0 ? 0 : index;
}

/** The mid of m-line `index` (the first section's when out of range, same BUNDLE argument). */
export function midAt(sdp: string, index: number): string | null {
  const mids = sdpMids(sdp);
  return mids[index] ?? mids[0] ?? null;
}

/** `candidate:...` without the `a=` attribute prefix. */
export function bareCandidate(candidate: string): string {
  return candidate.startsWith('a=') ? candidate.slice(2) : candidate;
}
