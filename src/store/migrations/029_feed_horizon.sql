-- 029_feed_horizon.sql — the change feed is pruned by the followers'
-- cursors, not by age (issue 18, review).
--
-- On SQLite there is one node and no feed: the columns stay NULL (the two
-- dialects keep one schema). On PostgreSQL (pg/029_feed_horizon.sql,
-- sqlite_nodes.c, pg_follow.c):
--
-- feed_horizon: the node's follower cursor (an xid, pg_follow.c): it has
-- applied every feed row below it. The scheduler deletes feed rows only
-- below the smallest cursor of the nodes that are not gone, and never
-- above the server's snapshot horizon. NULL: not known yet (nothing is
-- pruned while a node that is not gone has none).
ALTER TABLE nodes ADD COLUMN feed_horizon INTEGER;
-- feed_pruned: rows this node had not read yet were deleted below this xid
-- (it was taken for gone). Its follower, polling again, rebuilds what it
-- keeps in memory from the tables instead of missing them silently, and
-- clears it.
ALTER TABLE nodes ADD COLUMN feed_pruned INTEGER;
