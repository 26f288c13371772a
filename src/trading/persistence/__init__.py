"""What a bot must find again after a restart: the repository (SQLAlchemy), its tables,
migrations, the one-writer lease and the JSON-lines journal."""
