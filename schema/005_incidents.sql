-- 005_incidents.sql - one incident per process.
--
-- A leak rarely grows one type alone: the types it allocates, the heap and
-- the process's memory all grow together. Each keeps its own alert row
-- (per-type detail: level, rate, lifecycle), but the alerts of one process
-- that are open at the same time form one incident, named by incident_id:
-- the alert_id of the alert that opened it (its lead). An alert opening
-- while another of its process is firing joins that incident; one opening
-- when none is firing starts a new one. Webhooks hear of the incident, not
-- of each alert: one leak.firing when it opens (naming every growing type),
-- again when its level rises, one leak.resolved when its last alert
-- resolves; the deliveries reference the lead's row.
--
-- Alerts stored before this migration are each their own incident.
ALTER TABLE leak_alerts ADD COLUMN incident_id TEXT;
UPDATE leak_alerts SET incident_id = alert_id;
CREATE INDEX leak_alerts_by_incident ON leak_alerts (incident_id, id);

-- alerts: as in 002, with the incident each alert belongs to.
DROP VIEW alerts;
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
       a.eta_seconds AS eta_seconds,
       a.incident_id AS incident_id
FROM leak_alerts a
JOIN instances i ON i.id = a.instance_id
JOIN targets t ON t.id = i.target_id;
