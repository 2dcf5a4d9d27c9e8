DROP INDEX job_results_finished_at;
