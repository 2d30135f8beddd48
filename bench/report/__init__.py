"""Reports: leaderboards, statistics and figures built from run records only (rules:
docs/leaderboard.md). Modules, lowest first: stats, records, suites, metrics, rows, gamma, aggregate,
render, figures, leaderboard (the command and its manifest)."""
