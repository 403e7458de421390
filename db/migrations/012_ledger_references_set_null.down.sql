-- Reverses 012_ledger_references_set_null: the references go back to no delete rule (NO ACTION),
-- so deleting a content that has ledger or usage rows is refused again unless they are unlinked
-- first. Rows already unlinked keep their NULL references.
ALTER TABLE credit_transactions
    DROP CONSTRAINT fk_credit_transactions_contents,
    ADD CONSTRAINT fk_credit_transactions_contents FOREIGN KEY (content_id) REFERENCES contents(id);

ALTER TABLE api_usages
    DROP CONSTRAINT fk_api_usages_contents,
    ADD CONSTRAINT fk_api_usages_contents FOREIGN KEY (content_id) REFERENCES contents(id),
    DROP CONSTRAINT fk_api_usages_content_jobs,
    ADD CONSTRAINT fk_api_usages_content_jobs FOREIGN KEY (job_id) REFERENCES content_jobs(id);
