-- The reconciler deletes job results older than JOB_RESULTS_RETENTION, oldest first.
CREATE INDEX job_results_finished_at ON job_results (finished_at);
