"""First-run setup: the database migrated to the newest schema, the default brands, pipelines,
templates and prompts seeded (seed, seed_data), and the API key in the data directory."""
