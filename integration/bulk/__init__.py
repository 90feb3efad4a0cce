"""Many profiles at once through Zendesk bulk jobs: the burst's parking and drain, the backfill."""
