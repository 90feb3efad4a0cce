"""Everything that knows Omneo and Zendesk, and nothing of Celery or Flask."""
