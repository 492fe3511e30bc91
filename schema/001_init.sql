-- 001_init.sql - the first leakmon schema: the history leakmond keeps.
--
-- Applied by leakmond on open (lib/store.c embeds every schema/NNN_*.sql and
-- runs those above PRAGMA user_version, each in one transaction, then sets
-- user_version = NNN). Never edit a released migration: add the next file.
--
-- Times are integers, microseconds since the Unix epoch (UTC), in columns
-- named *_us; the views give ISO-8601 UTC text ("2026-11-28T01:03:19Z").
-- Only counts, sizes and type names are stored: never memory contents.
--
-- The views are the operators' interface (documented in the README,
-- "Querying the history"); their names and columns are stable.

-- 'LKMN': lets readers tell a leakmon database from any other SQLite file.
PRAGMA application_id = 1280003406;

-- One row per configured target ([target NAME] in leakmond.conf).
CREATE TABLE targets (
	id INTEGER PRIMARY KEY,
	name TEXT NOT NULL UNIQUE,
	created_at_us INTEGER NOT NULL
);

-- One process of a target. pid + start time (start_ticks: field 22 of
-- /proc/PID/stat, clock ticks since boot) identify it: a restart, or a
-- reused pid, is a new instance. ended_at_us is NULL while it is live.
CREATE TABLE instances (
	id INTEGER PRIMARY KEY,
	target_id INTEGER NOT NULL REFERENCES targets(id) ON DELETE CASCADE,
	pid INTEGER NOT NULL,
	start_ticks INTEGER NOT NULL,
	exe TEXT,
	started_at_us INTEGER NOT NULL,
	ended_at_us INTEGER,
	UNIQUE (target_id, pid, start_ticks)
);

-- One census attempt. A failed or abandoned attempt has a row (status,
-- error) but no totals and no snapshot_types rows.
CREATE TABLE snapshots (
	id INTEGER PRIMARY KEY,
	instance_id INTEGER NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
	taken_at_us INTEGER NOT NULL,
	status TEXT NOT NULL
		CHECK (status IN ('ok', 'partial', 'failed', 'abandoned')),
	error TEXT,
	source TEXT,			-- 'live', 'copy', 'core'
	pause_us INTEGER,		-- how long the target was stopped
	walk_us INTEGER,		-- heap walk + classification
	inuse_count INTEGER,
	inuse_bytes INTEGER,		-- every live allocation, mmapped included
	free_count INTEGER,
	free_bytes INTEGER,		-- free lists and tcaches, not top
	mmapped_count INTEGER,
	mmapped_bytes INTEGER,
	top_bytes INTEGER,
	arenas INTEGER,
	rss_bytes INTEGER,
	ntypes INTEGER
);
CREATE INDEX snapshots_by_instance ON snapshots (instance_id, taken_at_us);
CREATE INDEX snapshots_by_time ON snapshots (taken_at_us);

-- A type is (kind, name): kind is class, symbol, string, internal or size.
CREATE TABLE types (
	id INTEGER PRIMARY KEY,
	kind TEXT NOT NULL,
	name TEXT NOT NULL,
	UNIQUE (kind, name)
);

-- Per snapshot and type: number of allocations and the sum of their chunk
-- sizes. The bulk of the file: kept narrow, clustered by snapshot.
CREATE TABLE snapshot_types (
	snapshot_id INTEGER NOT NULL REFERENCES snapshots(id) ON DELETE CASCADE,
	type_id INTEGER NOT NULL REFERENCES types(id),
	count INTEGER NOT NULL,
	bytes INTEGER NOT NULL,
	PRIMARY KEY (snapshot_id, type_id)
) WITHOUT ROWID;

-- snapshots_log: every census attempt, failed ones included.
CREATE VIEW snapshots_log AS
SELECT t.name AS target,
       i.pid AS pid,
       s.id AS snapshot_id,
       strftime('%Y-%m-%dT%H:%M:%SZ', s.taken_at_us / 1000000, 'unixepoch') AS taken_at,
       s.pause_us AS pause_us,
       s.walk_us AS walk_us,
       s.inuse_bytes AS inuse_bytes,
       s.free_bytes AS free_bytes,
       s.rss_bytes AS rss_bytes,
       s.status AS status,
       s.error AS error
FROM snapshots s
JOIN instances i ON i.id = s.instance_id
JOIN targets t ON t.id = i.target_id;

-- type_series: one row per successful census (ok or partial) and type.
CREATE VIEW type_series AS
SELECT t.name AS target,
       i.pid AS pid,
       i.id AS instance_id,
       s.id AS snapshot_id,
       strftime('%Y-%m-%dT%H:%M:%SZ', s.taken_at_us / 1000000, 'unixepoch') AS taken_at,
       ty.kind AS kind,
       ty.name AS name,
       st.count AS count,
       st.bytes AS bytes
FROM snapshot_types st
JOIN snapshots s ON s.id = st.snapshot_id
JOIN instances i ON i.id = s.instance_id
JOIN targets t ON t.id = i.target_id
JOIN types ty ON ty.id = st.type_id
WHERE s.status IN ('ok', 'partial');

-- latest_census: for each live instance (not ended), its last successful
-- census, one row per type.
CREATE VIEW latest_census AS
SELECT t.name AS target,
       i.pid AS pid,
       strftime('%Y-%m-%dT%H:%M:%SZ', s.taken_at_us / 1000000, 'unixepoch') AS taken_at,
       ty.kind AS kind,
       ty.name AS name,
       st.count AS count,
       st.bytes AS bytes
FROM instances i
JOIN targets t ON t.id = i.target_id
JOIN snapshots s ON s.id = (
	SELECT s2.id FROM snapshots s2
	WHERE s2.instance_id = i.id AND s2.status IN ('ok', 'partial')
	ORDER BY s2.taken_at_us DESC, s2.id DESC LIMIT 1)
JOIN snapshot_types st ON st.snapshot_id = s.id
JOIN types ty ON ty.id = st.type_id
WHERE i.ended_at_us IS NULL;

-- type_growth: per instance and type, over the instance's successful
-- censuses (ok or partial), a census without the type counting as 0 bytes:
-- samples is the number of censuses in which the type appears, first_bytes
-- and last_bytes its bytes in the instance's first and last census (0 if
-- absent there), bytes_per_hour and count_per_hour the least-squares slope
-- against time, per hour, rounded to 0.1 (NULL until the instance has two
-- censuses at different times).
CREATE VIEW type_growth AS
SELECT t.name AS target,
       i.pid AS pid,
       ty.kind AS kind,
       ty.name AS name,
       f.n AS samples,
       coalesce((SELECT st.bytes FROM snapshots s JOIN snapshot_types st
		   ON st.snapshot_id = s.id AND st.type_id = f.type_id
		 WHERE s.instance_id = f.instance_id AND s.taken_at_us = c.t0
		   AND s.status IN ('ok', 'partial') LIMIT 1), 0) AS first_bytes,
       coalesce((SELECT st.bytes FROM snapshots s JOIN snapshot_types st
		   ON st.snapshot_id = s.id AND st.type_id = f.type_id
		 WHERE s.instance_id = f.instance_id AND s.taken_at_us = c.t1
		   AND s.status IN ('ok', 'partial') LIMIT 1), 0) AS last_bytes,
       CASE WHEN c.n * c.sxx - c.sx * c.sx > 1e-12
	    THEN round((c.n * f.sxb - c.sx * f.sb) / (c.n * c.sxx - c.sx * c.sx), 1) END
	 AS bytes_per_hour,
       CASE WHEN c.n * c.sxx - c.sx * c.sx > 1e-12
	    THEN round((c.n * f.sxc - c.sx * f.sc) / (c.n * c.sxx - c.sx * c.sx), 1) END
	 AS count_per_hour
FROM (
	-- Sums over the censuses where the type appears: the zeros of the
	-- others add nothing to sum(y) and sum(x * y).
	-- x: hours since the instance started (a shift keeps the sums small).
	SELECT s.instance_id, st.type_id, count(*) AS n,
	       sum(st.bytes) AS sb,
	       sum((s.taken_at_us - i2.started_at_us) / 3600000000.0 * st.bytes) AS sxb,
	       sum(st.count) AS sc,
	       sum((s.taken_at_us - i2.started_at_us) / 3600000000.0 * st.count) AS sxc
	FROM snapshot_types st
	JOIN snapshots s ON s.id = st.snapshot_id
	JOIN instances i2 ON i2.id = s.instance_id
	WHERE s.status IN ('ok', 'partial')
	GROUP BY s.instance_id, st.type_id
) f
JOIN (
	-- The x sums over every census of the instance.
	SELECT s.instance_id, count(*) AS n,
	       min(s.taken_at_us) AS t0, max(s.taken_at_us) AS t1,
	       sum((s.taken_at_us - i3.started_at_us) / 3600000000.0) AS sx,
	       sum(((s.taken_at_us - i3.started_at_us) / 3600000000.0) *
		   ((s.taken_at_us - i3.started_at_us) / 3600000000.0)) AS sxx
	FROM snapshots s
	JOIN instances i3 ON i3.id = s.instance_id
	WHERE s.status IN ('ok', 'partial')
	GROUP BY s.instance_id
) c ON c.instance_id = f.instance_id
JOIN instances i ON i.id = f.instance_id
JOIN targets t ON t.id = i.target_id
JOIN types ty ON ty.id = f.type_id;
