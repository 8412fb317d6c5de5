import { describe, expect, it } from 'vitest';

import { mergeTranscript, type StreamSegment } from './transcript';

const ME = 'user-1';
const AGENT = 'agent-AJ_1';

function seg(identity: string, segmentId: string, text: string, final: boolean, timestamp: number, streamId?: string): StreamSegment {
  return {
    text,
    participantInfo: { identity },
    streamInfo: {
      id: streamId ?? `${segmentId}-${timestamp}`,
      timestamp,
      attributes: { 'lk.segment_id': segmentId, 'lk.transcription_final': String(final) },
    },
  };
}

describe('mergeTranscript', () => {
  it('merges interim and final results of one segment into one line', () => {
    let lines = mergeTranscript([], [seg(ME, 's1', 'I would', false, 10)], ME);
    lines = mergeTranscript(lines, [seg(ME, 's1', 'I would use a queue', false, 11)], ME);
    lines = mergeTranscript(lines, [seg(ME, 's1', 'I would use a queue.', true, 12)], ME);
    expect(lines).toEqual([{ id: 's1', speaker: 'candidate', text: 'I would use a queue.', final: true, startedAt: 10 }]);
  });

  it('never lets a late interim overwrite a final text', () => {
    const lines = mergeTranscript([], [seg(ME, 's1', 'Final words.', true, 12)], ME);
    expect(mergeTranscript(lines, [seg(ME, 's1', 'Final', false, 11)], ME)).toBe(lines);
  });

  it('attributes lines to the candidate or the interviewer and orders them by start', () => {
    const lines = mergeTranscript(
      [],
      [seg(ME, 'u1', 'Hello.', true, 20), seg(AGENT, 'a1', 'Welcome to the interview.', false, 5)],
      ME,
    );
    expect(lines.map((l) => [l.speaker, l.text])).toEqual([
      ['interviewer', 'Welcome to the interview.'],
      ['candidate', 'Hello.'],
    ]);
  });

  it("grows the interviewer's turn as its stream grows, then marks it final", () => {
    let lines = mergeTranscript([], [seg(AGENT, 'a1', 'Tell me', false, 1, 'stream-a')], ME);
    lines = mergeTranscript(lines, [seg(AGENT, 'a1', 'Tell me about caching.', true, 1, 'stream-a')], ME);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ text: 'Tell me about caching.', final: true });
  });

  it('keeps earlier lines when the hook starts over after a reconnect', () => {
    const before = mergeTranscript([], [seg(ME, 's1', 'First answer.', true, 1), seg(AGENT, 'a1', 'Next?', true, 2)], ME);
    const after = mergeTranscript(before, [seg(ME, 's2', 'Second answer.', false, 3)], ME);
    expect(after.map((l) => l.id)).toEqual(['s1', 'a1', 's2']);
  });

  it('falls back to the stream id without a segment id, and skips empty text', () => {
    const noSegment: StreamSegment = { text: 'Plain', participantInfo: { identity: AGENT }, streamInfo: { id: 'x', timestamp: 1 } };
    const lines = mergeTranscript([], [noSegment, seg(ME, 's1', '   ', false, 2)], ME);
    expect(lines.map((l) => l.id)).toEqual(['x']);
  });

  it('returns the same array when nothing changed, so React does not re-render', () => {
    const incoming = [seg(ME, 's1', 'Same.', true, 1)];
    const lines = mergeTranscript([], incoming, ME);
    expect(mergeTranscript(lines, incoming, ME)).toBe(lines);
  });
});
