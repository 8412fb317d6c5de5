/**
 * Short names for the generated types the pages use (src/api/schema.d.ts, generated from the control plane's
 * OpenAPI document by `npm run gen:api`), and the value lists the forms offer. Nothing here describes the
 * protocol by hand.
 */
import type { components, operations } from './schema';

type Schemas = components['schemas'];
export type UserOut = Schemas['UserOut'];
export type SessionOut = Schemas['SessionOut'];
export type SessionPage = Schemas['SessionPage'];
export type SessionCreate = Schemas['SessionCreate'];
export type Seniority = SessionCreate['seniority'];
export type SummaryOut = Schemas['SummaryOut'];
export type TranscriptOut = Schemas['TranscriptOut'];
export type SegmentOut = Schemas['SegmentOut'];

/** The query `GET /sessions` takes: paging and the staff filters. */
export type ListSessionsQuery = NonNullable<operations['listSessions']['parameters']['query']>;
export type LiveRoom = Schemas['LiveRoom'];
export type LiveParticipant = Schemas['LiveParticipant'];

export const SENIORITIES: readonly Seniority[] = ['intern', 'junior', 'mid', 'senior', 'staff', 'principal'];
export const RECOMMENDATIONS = ['strong_yes', 'yes', 'mixed', 'no', 'strong_no'] as const;
export const SESSION_STATUSES = ['created', 'live', 'completed', 'failed', 'cancelled'] as const;
