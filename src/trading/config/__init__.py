"""Bot configs: typed frozen models, loading, files, the JSON Schema, the validator, .env."""
