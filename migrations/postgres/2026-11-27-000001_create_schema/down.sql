DROP TABLE job_results;
DROP TABLE messages;
DROP TABLE conversations;
DROP TABLE analyses;
DROP TABLE users;
