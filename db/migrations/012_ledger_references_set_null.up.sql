-- Money records outlive what they were for (issue 15): deleting a content (or the project or
-- organization it belongs to) keeps its credit_transactions and api_usages rows, their references
-- set to NULL, instead of refusing the delete. PostgreSQL cannot change a foreign key's ON DELETE
-- rule in place, so each key is dropped and added again under its own name, in one statement per
-- table. On the partitioned api_usages the key is declared on the parent: PostgreSQL drops and
-- clones it on every partition, and partitions attached later (create_api_usages_partitions)
-- inherit it.
ALTER TABLE credit_transactions
    DROP CONSTRAINT fk_credit_transactions_contents,
    ADD CONSTRAINT fk_credit_transactions_contents FOREIGN KEY (content_id) REFERENCES contents(id) ON DELETE SET NULL;

ALTER TABLE api_usages
    DROP CONSTRAINT fk_api_usages_contents,
    ADD CONSTRAINT fk_api_usages_contents FOREIGN KEY (content_id) REFERENCES contents(id) ON DELETE SET NULL,
    DROP CONSTRAINT fk_api_usages_content_jobs,
    ADD CONSTRAINT fk_api_usages_content_jobs FOREIGN KEY (job_id) REFERENCES content_jobs(id) ON DELETE SET NULL;
