import type { SegmentOut, SessionOut, SummaryOut } from '../api/contract';
import { ApiError, errorMessage, unwrap } from '../api/problem';
import { isStaff, useAuth } from '../auth';
import { Notice } from '../components/Notice';
import { formatOffset } from '../lib/format';
import { readScorecard, recommendationLabel, segmentAnchor, type ScorecardView } from '../lib/scorecard';
import { useLoader } from '../lib/useLoader';

const WRITING = new Set(['pending', 'running']);

/** What `end_reason` (why a completed interview ended) means, in a recruiter's words; unknown ones as sent. */
const END_REASONS: Record<string, string> = {
  completed: 'every question was asked',
  consent_declined: 'the candidate did not agree to the transcribed interview',
  time_up: 'the planned time ran out',
  silence: 'the candidate stopped answering',
  ended_early: 'it was ended early',
  candidate_left: 'the candidate left and did not come back in time',
  room_closed: 'the interview room was closed',
  idle: 'nothing happened for too long',
};

function endReasonText(reason: string): string {
  return END_REASONS[reason] ?? reason.replaceAll('_', ' ');
}

export function AfterInterview({ session }: { session: SessionOut }) {
  const { api } = useAuth();
  const id = session.id;
  const summary = useLoader(
    async () => {
      const result = await api.GET('/sessions/{session_id}/summary', { params: { path: { session_id: id } } });
      // No summary row yet (it is queued as the room closes): the same as pending.
      if (result.response.status === 404) return null;
      return unwrap(result);
    },
    `summary:${id}`,
    (s) => (session.status === 'completed' && (!s || WRITING.has(s.status)) ? 3000 : null),
  );
  const transcript = useLoader(
    async () => unwrap(await api.GET('/sessions/{session_id}/transcript', { params: { path: { session_id: id } } })),
    `transcript:${id}:${summary.data?.status ?? ''}`,
  );

  return (
    <>
      {session.status === 'failed' && (
        <Notice kind="error">This interview failed{session.failure_reason ? `: ${session.failure_reason}` : '.'}</Notice>
      )}
      {session.status === 'cancelled' && <Notice kind="info">This interview was cancelled.</Notice>}
      {session.status === 'completed' && session.end_reason && (
        <p className="end-reason" data-testid="end-reason">
          The interview ended because {endReasonText(session.end_reason)}.
        </p>
      )}
      {session.status === 'completed' && <SummarySection summary={summary.data} error={summary.error} onRetried={summary.reload} />}
      <section aria-labelledby="transcript-title" className="transcript">
        <h2 id="transcript-title">Transcript</h2>
        {transcript.error !== undefined && <Notice kind="error">{errorMessage(transcript.error)}</Notice>}
        {transcript.data && <Transcript segments={transcript.data.segments} />}
      </section>
    </>
  );
}

function SummarySection({ summary, error, onRetried }: { summary: SummaryOut | null | undefined; error: unknown; onRetried: () => void }) {
  const { api, user } = useAuth();
  const retry = async () => {
    if (!summary) return;
    await api.POST('/sessions/{session_id}/summary/retry', { params: { path: { session_id: summary.session_id } } });
    onRetried();
  };
  let body;
  if (error !== undefined && !(error instanceof ApiError && error.status === 404)) {
    body = <Notice kind="error">{errorMessage(error)}</Notice>;
  } else if (summary === undefined) {
    body = <p role="status">Loading the summary…</p>;
  } else if (summary === null || WRITING.has(summary.status)) {
    body = (
      <p role="status" data-testid="summary-writing">
        The scorecard is being written… This page updates by itself.
      </p>
    );
  } else if (summary.status === 'failed') {
    body = (
      <>
        <Notice kind="error" testId="summary-failed">
          The scorecard could not be written{summary.last_error ? `: ${summary.last_error}` : '.'}
        </Notice>
        {isStaff(user) && (
          <button type="button" onClick={() => void retry()}>
            Try writing it again
          </button>
        )}
      </>
    );
  } else {
    const view = readScorecard(summary.scorecard);
    body = view ? <Scorecard view={view} /> : <p>The summary has no scorecard.</p>;
  }
  return (
    <section aria-labelledby="summary-title" className="summary" data-testid="summary" data-status={summary?.status ?? 'pending'}>
      <h2 id="summary-title">Summary</h2>
      {body}
    </section>
  );
}

function Scorecard({ view }: { view: ScorecardView }) {
  if (view.kind === 'offline_statistics') {
    return (
      <div data-testid="scorecard" data-kind={view.kind}>
        <p>{view.label}</p>
        {view.answers !== null && <p>Answers given: {view.answers}</p>}
        {view.keyTerms.length > 0 && <p>Key terms: {view.keyTerms.join(', ')}</p>}
      </div>
    );
  }
  return (
    <div data-testid="scorecard" data-kind={view.kind}>
      <p className="recommendation">
        Recommendation: <strong data-testid="recommendation">{recommendationLabel(view.recommendation)}</strong>
      </p>
      {view.summary && <p>{view.summary}</p>}
      <div className="table-scroll">
        <table>
          <caption>Scores (1 poor to 5 excellent)</caption>
          <thead>
            <tr>
              <th scope="col">Competency</th>
              <th scope="col">Score</th>
              <th scope="col">Why</th>
              <th scope="col">Evidence</th>
            </tr>
          </thead>
          <tbody>
            {view.competencies.map((c) => (
              <tr key={c.competency} data-testid="competency">
                <th scope="row">{c.competency}</th>
                <td>
                  {c.score} <span className="visually-hidden">out of 5</span>
                </td>
                <td>{c.rationale}</td>
                <td>
                  {c.evidence ? (
                    <a href={`#${segmentAnchor(c.evidence.segment)}`} data-testid="evidence-link">
                      “{c.evidence.quote}”
                    </a>
                  ) : (
                    <span className="muted">No quote</span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {view.missing.length > 0 && <p>Not scored: {view.missing.join(', ')}</p>}
      <div className="two-columns">
        <List title="Strengths" items={view.strengths} />
        <List title="To improve" items={view.areasToImprove} />
      </div>
    </div>
  );
}

function List({ title, items }: { title: string; items: string[] }) {
  if (items.length === 0) return null;
  return (
    <div>
      <h3>{title}</h3>
      <ul>
        {items.map((item) => (
          <li key={item}>{item}</li>
        ))}
      </ul>
    </div>
  );
}

function Transcript({ segments }: { segments: SegmentOut[] }) {
  if (segments.length === 0) return <p>Nothing was said.</p>;
  return (
    <ol data-testid="transcript">
      {segments.map((s) => {
        const candidate = s.speaker === 'candidate';
        return (
          <li key={s.seq} id={segmentAnchor(s.seq)} tabIndex={-1} className={`line line-${candidate ? 'candidate' : 'interviewer'}`} data-testid="segment">
            <span className="speaker">{candidate ? 'Candidate' : 'Interviewer'}</span>{' '}
            <span className="muted">
              [{s.seq}] {formatOffset(s.start_ms)}
            </span>{' '}
            {s.text}
          </li>
        );
      })}
    </ol>
  );
}
