import { describe, expect, it } from 'vitest';

import { readScorecard, recommendationLabel } from './scorecard';

describe('readScorecard', () => {
  it('reads an LLM scorecard with evidence citing transcript segments', () => {
    const view = readScorecard({
      kind: 'llm_scorecard',
      recommendation: 'yes',
      summary: 'Solid.',
      competencies: [
        { competency: 'SQL', score: 4, rationale: 'Knew indexes.', evidence: { segment: 3, quote: 'a B-tree index' }, evidence_status: 'verified' },
        { competency: 'communication', score: 3, rationale: 'Clear.', evidence: null, evidence_status: 'rejected_not_in_transcript' },
        { competency: 'broken' },
      ],
      strengths: ['indexes'],
      areas_to_improve: ['caching'],
      missing_competencies: [],
    });
    expect(view).toMatchObject({ kind: 'llm_scorecard', recommendation: 'yes', strengths: ['indexes'], areasToImprove: ['caching'] });
    expect(view?.kind === 'llm_scorecard' && view.competencies.map((c) => c.evidence)).toEqual([{ segment: 3, quote: 'a B-tree index' }, null]);
  });

  it('reads offline statistics, and nothing from anything else', () => {
    expect(readScorecard({ kind: 'offline_statistics', label: 'Statistics only.', answers: { count: 4 }, key_terms: [{ term: 'redis', count: 3 }] })).toEqual({
      kind: 'offline_statistics',
      label: 'Statistics only.',
      answers: 4,
      keyTerms: ['redis'],
    });
    expect(readScorecard(null)).toBeNull();
    expect(readScorecard({ kind: 'other' })).toBeNull();
  });

  it('labels recommendations in words', () => {
    expect(recommendationLabel('strong_no')).toBe('Strong no');
    expect(recommendationLabel(null)).toBe('—');
  });
});
