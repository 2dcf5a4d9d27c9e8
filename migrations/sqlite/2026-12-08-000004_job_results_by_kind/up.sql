-- Operators list finished jobs by kind and outcome, newest first (hast-api jobs list).
CREATE INDEX job_results_kind_outcome_finished_at ON job_results (kind, outcome, finished_at);
