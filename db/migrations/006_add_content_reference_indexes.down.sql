DROP INDEX IF EXISTS idx_api_usages_content;
DROP INDEX IF EXISTS idx_credit_tx_content;
