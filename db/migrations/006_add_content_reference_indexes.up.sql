-- Lookups by content on the two ledgers: the credit ledger's per-content net charge (db/ledger.ts)
-- runs on every charge and refund, and deleting a content detaches its usage and credit rows.
-- Without these, both scan the whole table. On the partitioned api_usages the index is created on
-- every partition, present and future.
CREATE INDEX idx_credit_tx_content ON credit_transactions(content_id);
CREATE INDEX idx_api_usages_content ON api_usages(content_id);
