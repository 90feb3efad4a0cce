"""What `omneo-zendesk check` and `setup` do: read-only checks, idempotent registration, in `Row`s."""
