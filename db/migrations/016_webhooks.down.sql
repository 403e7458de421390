-- Reverses 016_webhooks: the endpoints and their delivery log are dropped.
DROP TABLE IF EXISTS webhook_deliveries;
DROP TABLE IF EXISTS webhook_endpoints;
