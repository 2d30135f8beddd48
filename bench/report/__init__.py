"""Stage 7, reports: leaderboards, statistics and figures built from run records only."""
