-- 002_alerts.sql - leak alerts, their history, and the webhook outbox
-- (lib/alert.c writes them, lib/webhook.c sends the outbox).
--
-- Times are integers, microseconds since the Unix epoch (UTC), in *_us
-- columns; the view gives ISO-8601 UTC text. Never memory contents: types,
-- sizes, rates and the JSON payloads built from them.

-- One alert: a (instance, kind, name) whose growth was judged a leak.
-- kind 'process' with name 'heap' or 'rss' stands for the whole process.
-- At most one firing alert per (instance, kind, name): the partial unique
-- index enforces it.
CREATE TABLE leak_alerts (
	id INTEGER PRIMARY KEY,
	alert_id TEXT NOT NULL UNIQUE,		-- the payloads' alert_id (UUID)
	instance_id INTEGER NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
	kind TEXT NOT NULL,
	name TEXT NOT NULL,
	level TEXT NOT NULL CHECK (level IN ('info', 'warning', 'critical')),
	state TEXT NOT NULL CHECK (state IN ('firing', 'resolved')),
	opened_at_us INTEGER NOT NULL,
	resolved_at_us INTEGER,
	resolve_reason TEXT,			-- 'growth stopped', 'instance ended'
	updated_at_us INTEGER NOT NULL,		-- last evaluation
	quiet_since_us INTEGER,			-- growth not seen since (NULL: seen)
	samples INTEGER,
	window_start_us INTEGER,
	count INTEGER,				-- last census of the type
	bytes INTEGER,
	bytes_per_hour REAL,			-- Theil-Sen slope
	bytes_per_hour_hi REAL,			-- its upper bound
	count_per_hour REAL,
	confidence REAL,			-- 1 - Mann-Kendall p
	rss_bytes INTEGER,
	limit_bytes INTEGER,
	eta_seconds REAL,			-- NULL: no limit in sight
	eta_seconds_pessimistic REAL
);
CREATE UNIQUE INDEX leak_alerts_one_open ON leak_alerts (instance_id, kind, name)
	WHERE state = 'firing';
CREATE INDEX leak_alerts_by_instance ON leak_alerts (instance_id, state);

-- Every change of an alert: opened, escalated (level rose), resolved.
CREATE TABLE alert_events (
	id INTEGER PRIMARY KEY,
	alert INTEGER NOT NULL REFERENCES leak_alerts(id) ON DELETE CASCADE,
	at_us INTEGER NOT NULL,
	event TEXT NOT NULL CHECK (event IN ('opened', 'escalated', 'resolved')),
	level TEXT NOT NULL,
	bytes_per_hour REAL,
	eta_seconds REAL
);
CREATE INDEX alert_events_by_alert ON alert_events (alert, at_us);

-- The outbox: a delivery is written here (in the alert's transaction)
-- before anything is sent, then retried until delivered or older than the
-- webhook's max_age. payload is the JSON body without "sent_at", which is
-- added at each attempt; the body is signed as sent.
CREATE TABLE webhook_deliveries (
	id INTEGER PRIMARY KEY,
	delivery_id TEXT NOT NULL UNIQUE,	-- also X-Leakmon-Delivery
	alert INTEGER REFERENCES leak_alerts(id) ON DELETE SET NULL,
	webhook TEXT NOT NULL,			-- [webhook NAME]
	event TEXT NOT NULL,			-- leak.firing, leak.resolved
	payload TEXT NOT NULL,
	created_at_us INTEGER NOT NULL,
	state TEXT NOT NULL DEFAULT 'pending'
		CHECK (state IN ('pending', 'delivered', 'expired')),
	attempts INTEGER NOT NULL DEFAULT 0,
	next_attempt_us INTEGER NOT NULL,
	last_attempt_us INTEGER,
	last_status INTEGER,			-- HTTP status, 0 when none
	last_error TEXT,
	delivered_at_us INTEGER
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_us);

-- alerts: every alert with its target and process.
CREATE VIEW alerts AS
SELECT t.name AS target,
       i.pid AS pid,
       a.kind AS kind,
       a.name AS name,
       a.level AS level,
       a.state AS state,
       strftime('%Y-%m-%dT%H:%M:%SZ', a.opened_at_us / 1000000, 'unixepoch') AS opened_at,
       strftime('%Y-%m-%dT%H:%M:%SZ', a.resolved_at_us / 1000000, 'unixepoch') AS resolved_at,
       a.bytes_per_hour AS bytes_per_hour,
       a.eta_seconds AS eta_seconds
FROM leak_alerts a
JOIN instances i ON i.id = a.instance_id
JOIN targets t ON t.id = i.target_id;
