DROP INDEX messages_job_id;
