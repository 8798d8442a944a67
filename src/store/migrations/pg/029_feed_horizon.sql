-- 029_feed_horizon.sql — the change feed is pruned by the followers'
-- cursors, not by age (issue 18, review; the SQLite file explains both).
--
-- feed_horizon: the node's follower cursor, an xid (pg_follow.c); feed rows
-- are deleted only below the smallest cursor of the nodes that are not gone
-- (sqlite_nodes.c) and never above the server's xmin horizon.
ALTER TABLE nodes ADD COLUMN feed_horizon BIGINT;
-- feed_pruned: rows the node had not read were deleted below this xid; its
-- follower rebuilds from the tables and clears it.
ALTER TABLE nodes ADD COLUMN feed_pruned BIGINT;
