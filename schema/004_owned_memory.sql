-- 004_owned_memory.sql - the memory a process owns, per snapshot.
--
-- owned_bytes is RssAnon + VmSwap of /proc/PID/status at the snapshot: the
-- anonymous memory only this process holds, resident or swapped. RSS also
-- counts shared memory (a database's shared buffers, first touched by each
-- backend) and file pages, which grow without any leak; the alerts'
-- whole-process series (process, memory) follows owned_bytes instead. NULL
-- where unknown (cores, snapshots stored before this column).
ALTER TABLE snapshots ADD COLUMN owned_bytes INTEGER;
