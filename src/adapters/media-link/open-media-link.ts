// `openMediaLink`, the consumer side of the robot's media session (the OpenMediaLink contract,
// src/media/media-link.ts; reachy-daemon-api.md §9.2; h264-webrtc.md §1): the gst-webrtc-signalling
// consumer flow (signalling-client.ts: the robot offers, we answer), one node-datachannel
// PeerConnection answering that offer, then a wait for ICE+DTLS. Owns only the set-up sequence
// and mapping its failures to the contract's values; the live session is media-link-session.ts.
// Any failure or abort tears down whatever was already built before answering.
import * as Result from 'effect/Result';
import { MediaLinkClosed, MediaTransportFailed, type OpenMediaLink, type OpenMediaLinkFailure } from '../../media/media-link.ts';
import { NoProducer, SessionEnded, SignallingProtocolError, SignallingTimeout, SignallingUnreachable } from '../../media/signalling/errors.ts';
import { SignallingClient } from '../signalling/signalling-client.ts';
import type { LiveMediaLink } from './media-link-session.ts';
import { readOffer } from './sdp-offer.ts';

function openFailure(error: unknown): OpenMediaLinkFailure {
  if (
    error instanceof SignallingUnreachable ||
    error instanceof NoProducer ||
    error instanceof SignallingProtocolError ||
    error instanceof SignallingTimeout ||
    error instanceof MediaTransportFailed ||
    error instanceof MediaLinkClosed
  ) {
    return error;
  }
  if (error instanceof SessionEnded) return error.reason === 'local-closed' ? new MediaLinkClosed({ message: 'media link set-up aborted' }) : error;
  return new MediaTransportFailed({ stage: 'negotiate', message: error instanceof Error ? error.message : String(error) });
}

export const openMediaLink: OpenMediaLink = async (options) => {
  const { signal } = options;
  if (signal?.aborted) return Result.fail(new MediaLinkClosed({ message: 'media link set-up aborted before it started' }));
  // The session's module brings node-datachannel, the FFmpeg decoders (node-av) and Opus: loaded by
  // the first link, so a driver started without media (or before its first link) does not load them.
  const { CONNECT_TIMEOUT_MS, LiveMediaLink } = await import('./media-link-session.ts');
  const session: { link: LiveMediaLink | null } = { link: null };
  const client: SignallingClient = new SignallingClient({
    url: options.signallingUrl,
    ...(options.producerName !== undefined && { producerName: options.producerName }),
    answer: async (offerSdp, context): Promise<string> => {
      const offer = readOffer(offerSdp);
      if (Result.isFailure(offer)) throw offer.failure;
      options.onNegotiating?.();
      const link: LiveMediaLink = new LiveMediaLink({ client, context, offer: offer.success, offerSdp, ...(options.stallMs !== undefined && { stallMs: options.stallMs }) });
      session.link = link;
      return link.answer();
    },
    onRemoteCandidate: (ice) => session.link?.addRemoteCandidate(ice),
  });

  try {
    await client.start(signal ? { signal } : {});
  } catch (error) {
    await session.link?.close();
    if (signal?.aborted) return Result.fail(new MediaLinkClosed({ message: 'media link set-up aborted' }));
    return Result.fail(openFailure(error));
  }
  const link = session.link;
  if (link === null) {
    await client.close();
    return Result.fail(new MediaTransportFailed({ stage: 'negotiate', message: 'the signalling session started without an offer' }));
  }
  const connected = await link.waitConnected(signal ? { signal, timeoutMs: CONNECT_TIMEOUT_MS } : { timeoutMs: CONNECT_TIMEOUT_MS });
  if (Result.isFailure(connected)) {
    await link.close();
    return Result.fail(connected.failure);
  }
  return Result.succeed(link);
};
