/**
 * Reads the stored scorecard (`SummaryOut.scorecard`, a JSON object the document leaves open) into what
 * the page shows. Two kinds exist (control_plane/domain/summaries): `llm_scorecard`, with a
 * recommendation and per-competency scores whose evidence quotes cite a transcript segment by its `seq`,
 * and `offline_statistics`, statistics only. Anything malformed is left out rather than shown wrong.
 */

export interface Evidence {
  segment: number;
  quote: string;
}

export interface CompetencyScore {
  competency: string;
  score: number;
  rationale: string;
  evidence: Evidence | null;
}

export type ScorecardView =
  | {
      kind: 'llm_scorecard';
      recommendation: string;
      summary: string;
      competencies: CompetencyScore[];
      strengths: string[];
      areasToImprove: string[];
      missing: string[];
    }
  | { kind: 'offline_statistics'; label: string; answers: number | null; keyTerms: string[] };

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : []);

function evidence(v: unknown): Evidence | null {
  if (!isObject(v) || typeof v.segment !== 'number' || typeof v.quote !== 'string') return null;
  return { segment: v.segment, quote: v.quote };
}

export function readScorecard(raw: unknown): ScorecardView | null {
  if (!isObject(raw)) return null;
  if (raw.kind === 'llm_scorecard') {
    const competencies = (Array.isArray(raw.competencies) ? raw.competencies : []).flatMap((c: unknown) =>
      isObject(c) && typeof c.score === 'number'
        ? [{ competency: str(c.competency), score: c.score, rationale: str(c.rationale), evidence: evidence(c.evidence) }]
        : [],
    );
    return {
      kind: 'llm_scorecard',
      recommendation: str(raw.recommendation),
      summary: str(raw.summary),
      competencies,
      strengths: strings(raw.strengths),
      areasToImprove: strings(raw.areas_to_improve),
      missing: strings(raw.missing_competencies),
    };
  }
  if (raw.kind === 'offline_statistics') {
    const answers = isObject(raw.answers) && typeof raw.answers.count === 'number' ? raw.answers.count : null;
    const keyTerms = (Array.isArray(raw.key_terms) ? raw.key_terms : []).flatMap((t: unknown) =>
      isObject(t) && typeof t.term === 'string' ? [t.term] : [],
    );
    return { kind: 'offline_statistics', label: str(raw.label), answers, keyTerms };
  }
  return null;
}

const RECOMMENDATION_LABELS: Record<string, string> = {
  strong_yes: 'Strong yes',
  yes: 'Yes',
  mixed: 'Mixed',
  no: 'No',
  strong_no: 'Strong no',
};

export function recommendationLabel(value: string | null | undefined): string {
  if (!value) return '—';
  return RECOMMENDATION_LABELS[value] ?? value;
}

/** The id of a transcript line's element, which evidence links point at. */
export function segmentAnchor(seq: number): string {
  return `segment-${seq}`;
}
