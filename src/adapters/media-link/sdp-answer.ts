// Shapes node-datachannel's SDP answer before it goes to the robot (RFC 3264 §6.1: an answer may
// list a subset of the offered formats): each m-line keeps only the payload type this driver decodes
// (no VP9 or RED, which nothing here handles) and, on video, its RTX format written out by us
// (RFC 4588 §8.6; libdatachannel's own line can come out empty); the robot's SSRC lines copied from
// the offer are dropped, and the audio m-line declares the SSRC of the Opus we send (libwebrtc peers
// drop unsignalled audio). h264-webrtc.md §5.4. Owns text rewriting only; candidates and transport
// attributes pass unchanged.

export interface AnswerShape {
  /** mid → the one payload type kept on that m-line. */
  readonly keep: ReadonlyMap<string, number>;
  /** mid → the RTX payload type kept next to it (its `apt` is the kept payload type). */
  readonly rtx?: ReadonlyMap<string, number>;
  /** Our send SSRC on the audio m-line. */
  readonly sendSsrc: { readonly mid: string; readonly ssrc: number; readonly cname: string } | null;
}

/** Attributes tied to one payload type (RFC 8866 §6.6, RFC 4585 §4.2). */
const PER_FORMAT_ATTRIBUTE = /^a=(?:rtpmap|fmtp|rtcp-fb):(\d+)(?:\s|$)/;
/** RTX's RTP clock for video (RFC 4588 §8.1: the clock rate of the original format). */
const RTX_VIDEO_CLOCK_RATE = 90_000;
/** Source attributes (RFC 5576 §4): in an answer they describe what the answerer sends. */
const SOURCE_ATTRIBUTE = /^a=ssrc(?:-group)?:/;

function shapeSection(lines: string[], shape: AnswerShape): string[] {
  const midLine = lines.find((line) => line.startsWith('a=mid:'));
  const mid = midLine?.slice('a=mid:'.length).trim();
  if (mid === undefined) return lines;
  const kept = shape.keep.get(mid);
  let out = lines;
  if (kept !== undefined) {
    const [mLine = '', ...rest] = lines;
    const fields = mLine.split(' ');
    const formats = fields.slice(3);
    if (formats.includes(String(kept))) {
      const rtx = shape.rtx?.get(mid);
      const withRtx = rtx !== undefined && formats.includes(String(rtx));
      const keptFormats = withRtx ? [kept, rtx] : [kept];
      out = [
        [...fields.slice(0, 3), ...keptFormats.map(String)].join(' '),
        ...rest.filter((line) => {
          const match = PER_FORMAT_ATTRIBUTE.exec(line);
          return match === null || Number(match[1]) === kept || (withRtx && Number(match[1]) === rtx && line.startsWith('a=rtcp-fb:'));
        }),
        ...(withRtx ? [`a=rtpmap:${rtx} rtx/${RTX_VIDEO_CLOCK_RATE}`, `a=fmtp:${rtx} apt=${kept}`] : []),
      ];
    }
  }
  if (kept !== undefined) out = out.filter((line) => !SOURCE_ATTRIBUTE.test(line));
  const send = shape.sendSsrc;
  if (send !== null && send.mid === mid) out = [...out, `a=ssrc:${send.ssrc} cname:${send.cname}`];
  return out;
}

/** Rewrites `sdp` per `shape`, keeping its line ending style. */
export function shapeAnswer(sdp: string, shape: AnswerShape): string {
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
  const lines = sdp.split(/\r?\n/);
  const trailingEmpty = lines.length > 0 && lines[lines.length - 1] === '';
  if (trailingEmpty) lines.pop();
  const out: string[] = [];
  let section: string[] | null = null;
  for (const line of lines) {
    if (line.startsWith('m=')) {
      if (section) out.push(...shapeSection(section, shape));
      section = [line];
    } else if (section) {
      section.push(line);
    } else {
      out.push(line);
    }
  }
  if (section) out.push(...shapeSection(section, shape));
  return out.join(eol) + (trailingEmpty ? eol : '');
}
