"""SQLite storage of a community's log and the state derived from it (sqlite-utils)."""
