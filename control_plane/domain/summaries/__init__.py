"""Interview scorecards: queued through SAQ on Redis, written by a worker, stored in Postgres."""
