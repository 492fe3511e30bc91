-- 003_holders.sql - deliveries that wait for holder chains.
--
-- A leak.firing delivery is written with its alert (so it cannot be lost)
-- but in state 'waiting' while leakmond searches the heap for the chains
-- that hold the growing type; it becomes 'pending' (sendable) once its
-- payload has "holders", or "holders": [] and "holders_error" saying why
-- (search failed, took too long, leakmond restarted meanwhile). The
-- sender only sends 'pending' rows.
--
-- SQLite cannot change a CHECK constraint in place: the table is rebuilt
-- with the same columns and rows (ids, delivery_ids, states unchanged).
-- Nothing references webhook_deliveries, and no view reads it.
CREATE TABLE webhook_deliveries_003 (
	id INTEGER PRIMARY KEY,
	delivery_id TEXT NOT NULL UNIQUE,	-- also X-Leakmon-Delivery
	alert INTEGER REFERENCES leak_alerts(id) ON DELETE SET NULL,
	webhook TEXT NOT NULL,			-- [webhook NAME]
	event TEXT NOT NULL,			-- leak.firing, leak.resolved
	payload TEXT NOT NULL,
	created_at_us INTEGER NOT NULL,
	state TEXT NOT NULL DEFAULT 'pending'
		CHECK (state IN ('waiting', 'pending', 'delivered', 'expired')),
	attempts INTEGER NOT NULL DEFAULT 0,
	next_attempt_us INTEGER NOT NULL,
	last_attempt_us INTEGER,
	last_status INTEGER,			-- HTTP status, 0 when none
	last_error TEXT,
	delivered_at_us INTEGER
);
INSERT INTO webhook_deliveries_003 (id, delivery_id, alert, webhook, event, payload,
	created_at_us, state, attempts, next_attempt_us, last_attempt_us, last_status,
	last_error, delivered_at_us)
SELECT id, delivery_id, alert, webhook, event, payload, created_at_us, state, attempts,
	next_attempt_us, last_attempt_us, last_status, last_error, delivered_at_us
FROM webhook_deliveries;
DROP TABLE webhook_deliveries;
ALTER TABLE webhook_deliveries_003 RENAME TO webhook_deliveries;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_us);
-- the waiting deliveries of one alert, filled together
CREATE INDEX webhook_deliveries_by_alert ON webhook_deliveries (alert, state);
