/**
 * The live transcript, merged from LiveKit's `lk.transcription` text streams. The interviewer sends one
 * stream per interim result and one for the final text of each spoken segment, all with the segment's
 * `lk.segment_id`; its own speech is one stream per turn that grows as the words play out. Lines are keyed
 * by segment id, a final text is never overwritten by a late interim, and lines survive a reconnect (when
 * LiveKit's hook starts again from nothing).
 */

export const SEGMENT_ID = 'lk.segment_id';
export const TRANSCRIPTION_FINAL = 'lk.transcription_final';

/** What the merge needs from one of `useTranscriptions()`' items (TextStreamData). */
export interface StreamSegment {
  text: string;
  participantInfo: { identity: string };
  streamInfo: { id: string; timestamp: number; attributes?: Record<string, string> };
}

export type Speaker = 'candidate' | 'interviewer';

export interface TranscriptLine {
  id: string;
  speaker: Speaker;
  text: string;
  final: boolean;
  startedAt: number;
}

export function mergeTranscript(
  previous: readonly TranscriptLine[],
  incoming: readonly StreamSegment[],
  localIdentity: string,
): readonly TranscriptLine[] {
  const byId = new Map(previous.map((line) => [line.id, line]));
  let changed = false;
  for (const segment of incoming) {
    const attributes = segment.streamInfo.attributes ?? {};
    const id = attributes[SEGMENT_ID] || segment.streamInfo.id;
    const final = attributes[TRANSCRIPTION_FINAL] === 'true';
    const text = segment.text.trim();
    const known = byId.get(id);
    if (!known) {
      if (!text) continue;
      const speaker = segment.participantInfo.identity === localIdentity ? 'candidate' : 'interviewer';
      byId.set(id, { id, speaker, text, final, startedAt: segment.streamInfo.timestamp });
      changed = true;
    } else if ((!known.final || final) && (known.text !== text || known.final !== final) && text) {
      byId.set(id, {
        ...known,
        text,
        final: known.final || final,
        startedAt: Math.min(known.startedAt, segment.streamInfo.timestamp),
      });
      changed = true;
    }
  }
  if (!changed) return previous;
  return [...byId.values()].sort((a, b) => a.startedAt - b.startedAt);
}
