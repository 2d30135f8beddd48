"""Reports: leaderboards, statistics and figures built from run records only (rules:
docs/leaderboard.md). Modules, lowest first: stats, records, suites, metrics, rows, compare (paired
tests with the reference), gamma, aggregate, tables (what each table holds), render, figures,
leaderboard (the command and its manifest)."""
