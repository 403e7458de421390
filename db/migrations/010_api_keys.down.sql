-- Reverses 010_api_keys: every API key stops working.
DROP TABLE IF EXISTS api_keys;
